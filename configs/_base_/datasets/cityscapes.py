# Cityscapes in the MTAN .npy layout (2975 train / 500 val, 128x256):
# semantic segmentation (7 classes; 19 with num_classes=19) and depth.
_base_ = ['./dense_mtl.py']
dataset_type = 'CityscapesMTLDataset'
data_root = 'data/cityscapes/'
tasks = ['semantic', 'depth']
num_classes = 7
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        num_classes=num_classes,
        # 'full' or 'onelabel' (data_splits/cityscapes/onelabel.pth);
        # 'randomlabels' (one or two labels out of three or more tasks)
        # does not exist for the two Cityscapes tasks.
        label_setting='full'))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root,
                                   num_classes=num_classes))
test_dataloader = val_dataloader

# Single-task (STL) SegNet results, 7 classes, JTR (CVPR 2024) supplementary
# Tab. 11 (with RandAugment): mIoU and depth abs err -- the metrics of its
# Delta% (Tab. 12). The onelabel configs pass them as the evaluator's
# `reference`, which adds delta_m (without one, as here, there is none); they
# do not apply to 19 classes, and the papers give no SegNet STL under full
# labels.
stl_reference = dict(onelabel=dict(miou=70.32, abs_err=0.0134))
val_evaluator = dict(type='DenseMTLMetric', tasks=tasks,
                     num_classes=num_classes)
test_evaluator = val_evaluator
