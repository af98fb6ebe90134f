# DeepLabV3+ (ours; mmseg is not a dependency): an ImageNet ResNet-50 shared
# by all tasks at output stride 16 (dilated last stage), then per task an
# ASPP (rates 6/12/18) and the decoder that fuses the stride-4 features;
# 256-wide task features upsampled to the input size. It is single-scale, so
# it has no CTAL-MS variant (that needs a multi-scale encoder: HRNet-18). The
# checkpoint is the file torchvision://resnet50 resolves to (that scheme
# needs torchvision, which is not installed); the [0, 1] images are
# normalised with the ImageNet statistics the weights expect. Delta_m: the
# `stl_reference` values in ../datasets/*.py are SegNet's; pass the results
# of the nyuv2_deeplabv3plus_stl_* run of the same setting as `reference`.
model = dict(
    type='DenseMTLModel',
    data_preprocessor=dict(type='ImgDataPreprocessor',
                           mean=[0.485, 0.456, 0.406],
                           std=[0.229, 0.224, 0.225]),
    backbone=dict(
        type='DeepLabV3PlusMTL',
        encoder=dict(
            type='mmdet.ResNet', depth=50, norm_eval=False,
            init_cfg=dict(
                type='Pretrained',
                checkpoint='https://download.pytorch.org/models/'
                'resnet50-0676ba61.pth')),
        output_stride=16, channels=256, low_level_channels=48),
    tasks=dict(semantic=dict(num_classes=13), depth=dict(), normal=dict()))
