# CPU smoke twin of nyuv2_segnet_mtl_onelabel.py on the synthetic set of
# ../_base_/datasets/nyuv2_synthetic_tiny.py (onelabel), SegNet-MTAN 8/16/16
# wide; 12 Adam iterations (../_base_/schedules/tiny_cpu.py), then one
# validation. The other nyuv2_segnet_*_tiny twins inherit this one and add
# their method.
_base_ = [
    './nyuv2_segnet_mtl_full.py',
    '../_base_/datasets/nyuv2_synthetic_tiny.py',
    '../_base_/schedules/tiny_cpu.py'
]
model = dict(backbone=dict(channels=(8, 16, 16)))
train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = val_dataloader
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
log_processor = _base_.tiny_log_processor
