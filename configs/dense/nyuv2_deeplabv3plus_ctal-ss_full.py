# CTAL-SS (WACV 2025) on DeepLabV3+ ResNet-50: single-scale cross-task
# affinity learning between deep-supervised initial predictions and the final
# heads; affinities at 72x96 (1/4 of 288x384), f = 3, gamma = 0.05. Adam lr
# 1e-4 wd 1e-4, batch 8, cosine annealing over 200 epochs. No ctal-ms config:
# DeepLabV3+ has one stride-4 feature, and CTAL-MS needs a multi-scale
# encoder (see nyuv2_hrnet18_ctal-ms_full.py).
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/dense_deeplabv3plus.py',
    '../_base_/schedules/dense_adam_200e.py', '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=50))
model = dict(refiner=dict(type='CTALModule', size=(72, 96), kernel_size=3,
                          gamma=0.05, efficient=True, chunk_size=1024))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=200,
         T_max=200, eta_min=0.0)
]
