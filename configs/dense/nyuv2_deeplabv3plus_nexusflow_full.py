# NexusFlow on DeepLabV3+ ResNet-50 (NexusFlowNeck): surrogates (MLP aggregator + 6 RealNVP
# coupling layers) on the 256-wide task features, centroid alignment over all
# tasks. align_weight (lambda) is not given for NYUv2 in the paper: 0.1 is
# ours.
_base_ = [
    '../_base_/datasets/nyuv2.py', '../_base_/models/dense_deeplabv3plus.py',
    '../_base_/schedules/dense_adam_200e.py', '../_base_/default_runtime.py'
]
default_hooks = dict(logger=dict(interval=50))
model = dict(
    neck=dict(
        type='NexusFlowNeck',
        surrogates={
            task: dict(
                aggregator=dict(type='MLPAggregator', in_channels=256,
                                out_dim=128, pool='avgmax'),
                flow=dict(type='RealNVPFlow', num_layers=6))
            for task in ('semantic', 'depth', 'normal')
        },
        alignment=dict(type='CentroidAlignmentLoss'),
        align_weight=0.1))
