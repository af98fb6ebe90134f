# CPU smoke twin of nyuv2_hrnet18_mtl_onelabel.py on the synthetic set of
# ../_base_/datasets/nyuv2_synthetic_tiny.py (onelabel); a 4/8/16-wide HRNet,
# one block per branch and three branches (stride 16: 32x48 is no multiple of
# 32); no pretrained weights; 12 Adam iterations, then one validation.
_base_ = [
    './nyuv2_hrnet18_mtl_full.py',
    '../_base_/datasets/nyuv2_synthetic_tiny.py'
]
train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = val_dataloader
model = dict(
    backbone=dict(
        encoder=dict(
            init_cfg=None,
            extra=dict(
                stage1=dict(num_blocks=(1, ), num_channels=(8, )),
                stage2=dict(num_blocks=(1, 1), num_channels=(4, 8)),
                stage3=dict(num_modules=1, num_blocks=(1, 1, 1),
                            num_channels=(4, 8, 16)),
                stage4=dict(num_modules=1, num_branches=3,
                            num_blocks=(1, 1, 1), num_channels=(4, 8, 16)))),
        channels=8))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = []
train_cfg = dict(max_epochs=6, val_interval=6)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=6, max_keep_ckpts=1))
log_processor = dict(window_size=1)
