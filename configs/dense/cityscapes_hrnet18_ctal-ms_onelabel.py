# CTAL-MS on HRNet-18, Cityscapes onelabel (../_base_/baselines/ctal.py). The
# paper trains its multi-scale models on Cityscapes with cosine annealing
# with warm restarts; it does not give the periods: three 25-epoch cycles
# over the 75 epochs are ours.
_base_ = './cityscapes_hrnet18_ctal-ss_onelabel.py'
model = dict(backbone=dict(multi_scale=True),
             refiner=dict(_base_.ctal_cityscapes.refiner_ms, _delete_=True))
param_scheduler = [
    dict(type='CosineRestartLR', by_epoch=True, begin=0, end=75,
         periods=[25, 25, 25], restart_weights=[1, 1, 1], eta_min=0.0)
]
