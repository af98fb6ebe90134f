# Multi-task learning on the labeled tasks only, HRNet-18 shared encoder, on
# Cityscapes (128x256), 7-class segmentation and depth, onelabel; the
# MTAN/MTPSL Adam schedule. The other cityscapes_hrnet18_* configs inherit
# this one. 19 classes (label_19): set num_classes = 19 here.
_base_ = [
    '../_base_/datasets/cityscapes.py',
    '../_base_/models/dense_hrnet18.py',
    '../_base_/schedules/dense_adam_200e.py',
    '../_base_/default_runtime.py',
    '../_base_/labels/cityscapes_onelabel.py'
]
num_classes = 7
model = dict(tasks=dict(_delete_=True, semantic=dict(num_classes=num_classes),
                        depth=dict()))
train_dataloader = dict(
    dataset=dict(_base_.cityscapes_onelabel, num_classes=num_classes))
val_dataloader = dict(dataset=dict(num_classes=num_classes))
test_dataloader = val_dataloader
# No Delta_m reference: `stl_reference` in ../_base_/datasets/cityscapes.py
# holds SegNet results; set `reference` to those of an HRNet-18 STL run.
val_evaluator = dict(num_classes=num_classes)
test_evaluator = val_evaluator
