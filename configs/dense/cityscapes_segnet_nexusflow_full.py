# NexusFlow (NexusFlowNeck): surrogates (MLP aggregator + 6 RealNVP coupling layers) on the
# per-task decoder features, centroid alignment over both tasks.
# align_weight (lambda) is not given for Cityscapes in the paper: 0.1 is
# ours, as on NYUv2.
_base_ = './cityscapes_segnet_mtl_full.py'
model = dict(
    neck=dict(
        type='NexusFlowNeck',
        surrogates={
            task: dict(
                aggregator=dict(type='MLPAggregator', in_channels=64,
                                out_dim=128, pool='avgmax'),
                flow=dict(type='RealNVPFlow', num_layers=6))
            for task in ('semantic', 'depth')
        },
        alignment=dict(type='CentroidAlignmentLoss'),
        align_weight=0.1))
