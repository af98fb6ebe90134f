"""The method: invertible flows, aggregators, task surrogates, the surrogate
bank and the alignment losses."""
from .alignment_loss import (CentroidAlignmentLoss, PairwiseAlignmentLoss,
                             centroid_distances, latent_centroid)
from .batched_surrogates import BatchedRealNVP, encode_batched
from .deformable_aggregator import DeformableAggregator
from .mlp_aggregator import MLPAggregator, pool_last_dim
from .realnvp_flow import AffineCoupling, RealNVPFlow
from .surrogate_bank import SurrogateBank, check_align_weight
from .task_surrogate import PlainMLP, TaskSurrogate

__all__ = [
    'AffineCoupling', 'BatchedRealNVP', 'CentroidAlignmentLoss',
    'DeformableAggregator', 'MLPAggregator', 'PairwiseAlignmentLoss',
    'PlainMLP', 'RealNVPFlow', 'SurrogateBank', 'TaskSurrogate',
    'centroid_distances', 'check_align_weight', 'encode_batched',
    'latent_centroid', 'pool_last_dim'
]
