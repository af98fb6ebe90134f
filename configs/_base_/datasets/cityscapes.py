# Cityscapes in the MTAN .npy layout (2975 train / 500 val, 128x256):
# semantic segmentation (7 classes; 19 with num_classes=19) and depth.
dataset_type = 'CityscapesMTLDataset'
data_root = 'data/cityscapes/'
tasks = ['semantic', 'depth']
num_classes = 7
pipeline = [dict(type='LoadDenseMTLSample'), dict(type='PackDenseMTLInputs')]
# JTR's training augmentations (random scale-crop, photometric RandAugment);
# the JTR configs use them, any other method can set the same pipeline.
jtr_train_pipeline = [
    dict(type='LoadDenseMTLSample'),
    dict(type='DenseRandomScaleCrop', scales=(1.0, 1.2, 1.5)),
    dict(type='DenseRandAugment', num_ops=2, magnitude=9),
    dict(type='PackDenseMTLInputs')
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_classes=num_classes,
        # 'full' or 'onelabel' (data_splits/cityscapes/onelabel.pth);
        # 'randomlabels' (one or two labels out of three or more tasks)
        # does not exist for the two Cityscapes tasks.
        label_setting='full',
        labels_weights=None,
        pipeline=pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_classes=num_classes,
        pipeline=pipeline))
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
