# CPU smoke twin of nyuv2_deeplabv3plus_mtl_onelabel.py on the synthetic set
# of ../_base_/datasets/nyuv2_synthetic_tiny.py (onelabel); an 8-wide
# ResNet-18 encoder, 8-wide ASPP/decoder; no pretrained weights; 12 Adam
# iterations (../_base_/schedules/tiny_cpu.py), then one validation.
_base_ = [
    './nyuv2_deeplabv3plus_mtl_full.py',
    '../_base_/datasets/nyuv2_synthetic_tiny.py',
    '../_base_/schedules/tiny_cpu.py'
]
model = dict(
    backbone=dict(encoder=dict(depth=18, base_channels=8, init_cfg=None),
                  channels=8, low_level_channels=4))
train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = val_dataloader
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
log_processor = _base_.tiny_log_processor
