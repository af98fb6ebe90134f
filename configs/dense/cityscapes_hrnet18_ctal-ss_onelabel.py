# Cityscapes onelabel, CTAL-SS on HRNet-18: affinities at 32x64 (1/4 of
# 128x256), f = 3, gamma = 0.05; Adam lr 5e-4 wd 1e-4, batch 8, cosine
# annealing over 75 epochs (the paper's Cityscapes schedule).
_base_ = [
    '../_base_/datasets/cityscapes.py',
    '../_base_/models/dense_hrnet18.py',
    '../_base_/schedules/dense_adam_200e.py',
    '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=50))
# onelabel: each image labeled for one task (shipped seeded file with the
# official statistics; point labels_weights at the official file to use it).
train_dataloader = dict(
    batch_size=8,
    dataset=dict(label_setting='onelabel',
                 labels_weights='data_splits/cityscapes/onelabel.pth'))
model = dict(
    tasks=dict(_delete_=True, semantic=dict(num_classes=7), depth=dict()),
    refiner=dict(type='CTALModule', size=(32, 64), kernel_size=3, gamma=0.05,
                 efficient=True, chunk_size=1024))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4, weight_decay=1e-4))
train_cfg = dict(max_epochs=75)
param_scheduler = [
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=75, T_max=75,
         eta_min=0.0)
]
