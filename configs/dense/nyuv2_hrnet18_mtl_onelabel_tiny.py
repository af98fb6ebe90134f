# CPU smoke twin of nyuv2_hrnet18_mtl_onelabel.py on the synthetic set of
# ../_base_/datasets/nyuv2_synthetic_tiny.py (onelabel) with the tiny HRNet
# of ../_base_/models/dense_hrnet18_tiny.py; 12 Adam iterations
# (../_base_/schedules/tiny_cpu.py), then one validation. The other
# nyuv2_hrnet18_*_tiny twins inherit this one and add their method.
_base_ = [
    './nyuv2_hrnet18_mtl_full.py',
    '../_base_/datasets/nyuv2_synthetic_tiny.py',
    '../_base_/models/dense_hrnet18_tiny.py',
    '../_base_/schedules/tiny_cpu.py'
]
model = dict(backbone=_base_.tiny_hrnet18_backbone)
train_dataloader = _base_.tiny_train_dataloader
val_dataloader = _base_.tiny_val_dataloader
test_dataloader = val_dataloader
optim_wrapper = _base_.tiny_optim_wrapper
param_scheduler = _base_.tiny_param_scheduler
train_cfg = _base_.tiny_train_cfg
default_hooks = _base_.tiny_default_hooks
log_processor = _base_.tiny_log_processor
