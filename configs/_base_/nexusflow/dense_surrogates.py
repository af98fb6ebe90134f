# NexusFlowNeck on the dense hosts: per task a surrogate (MLP aggregator of
# the task's decoder features + 6 RealNVP coupling layers), centroid
# alignment over all tasks. The paper gives no lambda for NYUv2 or
# Cityscapes: 0.1 is ours. The surrogate's input width is the backbone's
# task-feature width (SegNet-MTAN and HRNet-18: 64, DeepLabV3+: 256); a
# config adds one per task of its dataset:
#   model = dict(neck=dict(_base_.dense_nexusflow_neck, surrogates={
#       task: _base_.dense_surrogate_64ch for task in _base_.tasks}))
# Unique names, as mmengine refuses a key set by two `_base_` files.
dense_nexusflow_neck = dict(type='NexusFlowNeck',
                            alignment=dict(type='CentroidAlignmentLoss'),
                            align_weight=0.1)
dense_surrogate_64ch = dict(
    aggregator=dict(type='MLPAggregator', in_channels=64, out_dim=128,
                    pool='avgmax'),
    flow=dict(type='RealNVPFlow', num_layers=6))
dense_surrogate_256ch = dict(
    aggregator=dict(type='MLPAggregator', in_channels=256, out_dim=128,
                    pool='avgmax'),
    flow=dict(type='RealNVPFlow', num_layers=6))
# The sizes of the CPU smoke twins (*_tiny): dense_surrogates_tiny.py merges
# them into dense_surrogate_64ch.
dense_surrogate_tiny = dict(aggregator=dict(in_channels=8, out_dim=16),
                            flow=dict(num_layers=2, hidden_dim=16))
