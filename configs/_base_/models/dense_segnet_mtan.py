# SegNet encoder/decoder with MTAN-lite task attention and one head per
# task; 512x9x12 bottleneck at 288x384.
model = dict(
    type='DenseMTLModel',
    data_preprocessor=dict(type='BaseDataPreprocessor'),
    backbone=dict(type='SegNetMTAN', channels=(64, 128, 256, 512, 512)),
    tasks=dict(semantic=dict(num_classes=13), depth=dict(), normal=dict()))
