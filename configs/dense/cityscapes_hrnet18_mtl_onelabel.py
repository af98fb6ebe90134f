# Cityscapes (7 classes + depth, 128x256), onelabel: MTL on the labeled tasks
# only, HRNet-18; the MTAN/MTPSL Adam schedule.
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
    tasks=dict(_delete_=True, semantic=dict(num_classes=7), depth=dict()))
