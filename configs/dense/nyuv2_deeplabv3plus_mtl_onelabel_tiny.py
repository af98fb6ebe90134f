# CPU smoke twin of nyuv2_deeplabv3plus_mtl_onelabel.py on the synthetic set
# of ../_base_/datasets/nyuv2_synthetic_tiny.py (onelabel); an 8-wide
# ResNet-18 encoder, 8-wide ASPP/decoder; no pretrained weights; 12 Adam
# iterations, then one validation.
_base_ = [
    './nyuv2_deeplabv3plus_mtl_full.py',
    '../_base_/datasets/nyuv2_synthetic_tiny.py'
]
train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = val_dataloader
model = dict(
    backbone=dict(encoder=dict(depth=18, base_channels=8, init_cfg=None),
                  channels=8, low_level_channels=4))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = []
train_cfg = dict(max_epochs=6, val_interval=6)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=6, max_keep_ckpts=1))
log_processor = dict(window_size=1)
