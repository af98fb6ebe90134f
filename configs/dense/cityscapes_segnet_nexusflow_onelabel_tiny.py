# CPU smoke twin of cityscapes_segnet_nexusflow_onelabel.py on the synthetic
# set of ../_base_/datasets/cityscapes_synthetic_tiny.py (onelabel); 12 Adam
# iterations, then one validation.
_base_ = [
    './cityscapes_segnet_nexusflow_full.py',
    '../_base_/datasets/cityscapes_synthetic_tiny.py'
]
train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = val_dataloader
model = dict(
    backbone=dict(channels=(8, 16, 16)),
    neck=dict(surrogates={
        task: dict(aggregator=dict(in_channels=8, out_dim=16),
                   flow=dict(num_layers=2, hidden_dim=16))
        for task in ('semantic', 'depth')
    }))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = []
train_cfg = dict(max_epochs=6, val_interval=6)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=6, max_keep_ckpts=1))
log_processor = dict(window_size=1)
