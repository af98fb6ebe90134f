"""How NexusFlow attaches to a host: the neck, the wrapper and the drop-in
hook, with the feature taps, task masks and per-mask loss grouping they
share."""
from .align_weight_hook import AlignWeightHook
from .feature_taps import FeatureTaps, find_submodule
from .grouped_loss import align_groups, grouped_task_losses, take_samples
from .nexusflow_hook import NexusFlowHook
from .nexusflow_neck import NexusFlowNeck
from .nexusflow_wrapper import NexusFlowWrapper
from .param_groups import add_param_group
from .task_mask import (get_task_masks, group_by_task_mask, match_loss_keys,
                        zero_unlabeled_losses)

__all__ = [
    'AlignWeightHook', 'FeatureTaps', 'NexusFlowHook', 'NexusFlowNeck',
    'NexusFlowWrapper',
    'add_param_group', 'align_groups', 'find_submodule', 'get_task_masks',
    'group_by_task_mask', 'grouped_task_losses', 'match_loss_keys',
    'take_samples', 'zero_unlabeled_losses'
]
