# CTAL-SS on HRNet-18, Cityscapes onelabel: affinities at 32x64 (1/4 of
# 128x256), f = 3, gamma = 0.05; Adam lr 5e-4 wd 1e-4, batch 8, cosine
# annealing over the paper's 75 Cityscapes epochs.
_base_ = './cityscapes_hrnet18_mtl_onelabel.py'
model = dict(refiner=dict(type='CTALModule', size=(32, 64), kernel_size=3,
                          gamma=0.05, efficient=True, chunk_size=1024))
train_dataloader = dict(batch_size=8)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4, weight_decay=1e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=75, T_max=75,
         eta_min=0.0)
]
train_cfg = dict(max_epochs=75)
