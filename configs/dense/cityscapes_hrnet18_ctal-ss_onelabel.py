# CTAL-SS on HRNet-18, Cityscapes onelabel, with the paper's schedule
# (../_base_/baselines/ctal.py).
_base_ = ['./cityscapes_hrnet18_mtl_onelabel.py',
          '../_base_/baselines/ctal.py']
model = dict(refiner=_base_.ctal_cityscapes.refiner_ss)
train_dataloader = _base_.ctal_cityscapes.train_dataloader
optim_wrapper = _base_.ctal_cityscapes.optim_wrapper
param_scheduler = _base_.ctal_cityscapes.param_scheduler
train_cfg = _base_.ctal_cityscapes.train_cfg
