# HRNetV2-W18 (mmdet's HRNet, ImageNet weights; 9.56 M parameters) shared by
# all tasks: 18/36/72/144 channels at strides 4/8/16/32. Single-scale: each
# task fuses the four scales (MTI-Net's cross-scale fusion) into 64-wide
# features upsampled to the input size; the ctal-ms configs set
# multi_scale=True and let CTALMultiScale fuse after per-scale predictions.
# Input sides must be multiples of 32 (288x384 and 128x256 are). Delta_m: the
# `stl_reference` values in ../datasets/*.py are SegNet's; pass the results
# of the nyuv2_hrnet18_stl_* run of the same setting as `reference`.
model = dict(
    type='DenseMTLModel',
    data_preprocessor=dict(type='ImgDataPreprocessor',
                           mean=[0.485, 0.456, 0.406],
                           std=[0.229, 0.224, 0.225]),
    backbone=dict(
        type='HRNetMTL',
        encoder=dict(
            type='mmdet.HRNet',
            extra=dict(
                stage1=dict(num_modules=1, num_branches=1,
                            block='BOTTLENECK', num_blocks=(4, ),
                            num_channels=(64, )),
                stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                            num_blocks=(4, 4), num_channels=(18, 36)),
                stage3=dict(num_modules=4, num_branches=3, block='BASIC',
                            num_blocks=(4, 4, 4),
                            num_channels=(18, 36, 72)),
                stage4=dict(num_modules=3, num_branches=4, block='BASIC',
                            num_blocks=(4, 4, 4, 4),
                            num_channels=(18, 36, 72, 144))),
            norm_eval=False,
            init_cfg=dict(type='Pretrained',
                          checkpoint='open-mmlab://msra/hrnetv2_w18')),
        channels=64,
        multi_scale=False),
    tasks=dict(semantic=dict(num_classes=13), depth=dict(), normal=dict()))
