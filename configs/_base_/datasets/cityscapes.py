# Cityscapes in the MTAN .npy layout (2975 train / 500 val, 128x256):
# semantic segmentation (7 classes; 19 with num_classes=19) and depth.
dataset_type = 'CityscapesMTLDataset'
data_root = 'data/cityscapes/'
tasks = ['semantic', 'depth']
num_classes = 7
pipeline = [dict(type='LoadDenseMTLSample'), dict(type='PackDenseMTLInputs')]

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
        # 'full' or 'onelabel' (data_splits/cityscapes/onelabel.pth).
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

val_evaluator = dict(type='DenseMTLMetric', tasks=tasks,
                     num_classes=num_classes, reference=None)
test_evaluator = val_evaluator
