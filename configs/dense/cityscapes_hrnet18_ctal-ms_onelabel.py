# CTAL-MS on HRNet-18, Cityscapes onelabel (four scales, CTAL at 32x64). The
# paper trains its multi-scale models on Cityscapes with cosine annealing
# with warm restarts; it does not give the periods: three 25-epoch cycles
# over the 75 epochs are ours.
_base_ = './cityscapes_hrnet18_ctal-ss_onelabel.py'
model = dict(
    backbone=dict(multi_scale=True),
    refiner=dict(_delete_=True, type='CTALMultiScale', channels=64,
                 size=(32, 64), kernel_size=3, gamma=0.05, efficient=True,
                 chunk_size=1024))
param_scheduler = [
    dict(type='CosineRestartLR', by_epoch=True, begin=0, end=75,
         periods=[25, 25, 25], restart_weights=[1, 1, 1], eta_min=0.0)
]
