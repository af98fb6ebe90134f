# Cityscapes onelabel, NexusFlow on DeepLabV3+ ResNet-50: surrogates (MLP
# aggregator + 6 RealNVP coupling layers) on the 256-wide task features,
# centroid alignment; lambda 0.1 is ours; the MTAN/MTPSL Adam schedule.
_base_ = [
    '../_base_/datasets/cityscapes.py',
    '../_base_/models/dense_deeplabv3plus.py',
    '../_base_/schedules/dense_adam_200e.py',
    '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=50))
# onelabel: each image labeled for one task (shipped seeded file with the
# official statistics; point labels_weights at the official file to use it).
train_dataloader = dict(
    batch_size=8,
    dataset=dict(label_setting='onelabel',
                 labels_weights='data_splits/cityscapes/onelabel.pth'))
model = dict(
    tasks=dict(_delete_=True, semantic=dict(num_classes=7), depth=dict()),
    surrogates=dict(
        surrogates={
            task: dict(
                aggregator=dict(type='MLPAggregator', in_channels=256,
                                out_dim=128, pool='avgmax'),
                flow=dict(type='RealNVPFlow', num_layers=6))
            for task in ('semantic', 'depth')
        },
        alignment=dict(type='CentroidAlignmentLoss'),
        align_weight=0.1))
