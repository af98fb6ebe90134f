from .alignment_loss import (CentroidAlignmentLoss, PairwiseAlignmentLoss,
                             centroid_distances, latent_centroid)
from .deformable_aggregator import DeformableAggregator
from .feature_taps import FeatureTaps, find_submodule
from .mlp_aggregator import MLPAggregator
from .nexusflow_neck import NexusFlowNeck
from .nexusflow_wrapper import NexusFlowWrapper
from .realnvp_flow import AffineCoupling, RealNVPFlow
from .surrogate_bank import SurrogateBank, check_align_weight
from .task_mask import (get_task_masks, group_by_task_mask, match_loss_keys,
                        zero_unlabeled_losses)
from .task_surrogate import PlainMLP, TaskSurrogate

from . import dense, uniad  # noqa: F401,E402  (dense MTL and UniAD hosts)

__all__ = [
    'AffineCoupling', 'CentroidAlignmentLoss', 'DeformableAggregator',
    'FeatureTaps', 'MLPAggregator', 'NexusFlowNeck', 'NexusFlowWrapper',
    'PairwiseAlignmentLoss', 'PlainMLP', 'RealNVPFlow', 'SurrogateBank',
    'TaskSurrogate', 'centroid_distances', 'check_align_weight',
    'find_submodule', 'get_task_masks', 'group_by_task_mask',
    'latent_centroid', 'match_loss_keys', 'zero_unlabeled_losses'
]
