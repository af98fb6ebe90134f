# NYUv2 in the MTAN .npy layout (795 train / 654 val, 288x384): semantic
# segmentation (13 classes), depth, surface normals.
dataset_type = 'NYUv2MTLDataset'
data_root = 'data/nyuv2/'
tasks = ['semantic', 'depth', 'normal']
pipeline = [dict(type='LoadDenseMTLSample'), dict(type='PackDenseMTLInputs')]

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=tasks,
        # 'full', or a partial-label setting with its labels_weights file
        # (data_splits/nyuv2/{onelabel,randomlabels}.pth or the official
        # MTPSL/JTR files).
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
        tasks=tasks,
        pipeline=pipeline))
test_dataloader = val_dataloader

# Set `reference` to the single-task (STL) results, e.g. those of
# configs/dense/nyuv2_segnet_stl_full.py, to report delta_m.
val_evaluator = dict(type='DenseMTLMetric', tasks=tasks, num_classes=13,
                     reference=None)
test_evaluator = val_evaluator
