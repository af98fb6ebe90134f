# NexusFlow on HRNet-18, Cityscapes onelabel: surrogates (MLP aggregator + 6
# RealNVP coupling layers) on the 64-wide task features, centroid alignment
# over both tasks; lambda 0.1 is ours, as on NYUv2.
_base_ = './cityscapes_hrnet18_mtl_onelabel.py'
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
