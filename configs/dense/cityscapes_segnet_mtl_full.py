# Multi-task learning on the labeled tasks only (supervised MTL baseline):
# SegNet-MTAN on Cityscapes (128x256), 7-class segmentation and depth. The
# other cityscapes_segnet_* configs inherit this one.
# 19 classes (label_19): set num_classes = 19 here, or set the four
# num_classes below in a config of your own; the STL references of the
# onelabel configs are 7-class values, so drop them then.
_base_ = [
    '../_base_/datasets/cityscapes.py',
    '../_base_/models/dense_segnet_mtan.py',
    '../_base_/schedules/dense_adam_200e.py', '../_base_/default_runtime.py'
]
num_classes = 7
model = dict(tasks=dict(_delete_=True, semantic=dict(num_classes=num_classes),
                        depth=dict()))
train_dataloader = dict(dataset=dict(num_classes=num_classes))
val_dataloader = dict(dataset=dict(num_classes=num_classes))
test_dataloader = val_dataloader
val_evaluator = dict(num_classes=num_classes)
test_evaluator = val_evaluator
