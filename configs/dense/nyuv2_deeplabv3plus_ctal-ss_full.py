# CTAL-SS on DeepLabV3+ ResNet-50, NYUv2, with the paper's schedule
# (../_base_/baselines/ctal.py). No ctal-ms config: DeepLabV3+ has one
# stride-4 feature, and CTAL-MS needs a multi-scale encoder (see
# nyuv2_hrnet18_ctal-ms_full.py).
_base_ = ['./nyuv2_deeplabv3plus_mtl_full.py',
          '../_base_/baselines/ctal.py']
model = dict(refiner=_base_.ctal_nyuv2.refiner_ss)
train_dataloader = _base_.ctal_nyuv2.train_dataloader
optim_wrapper = _base_.ctal_nyuv2.optim_wrapper
param_scheduler = _base_.ctal_nyuv2.param_scheduler
