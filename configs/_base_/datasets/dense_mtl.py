# What the dense MTL sets in the MTAN .npy layout (nyuv2.py, cityscapes.py)
# share: the pipelines and the dataloaders; each of them adds its dataset's
# type, root, tasks or classes and label setting, and its training batch.
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
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(split='train', labels_weights=None, pipeline=pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(split='val', pipeline=pipeline))
test_dataloader = val_dataloader
