from .nexusflow_hook import NexusFlowHook
from .param_groups import add_param_group

__all__ = ['NexusFlowHook', 'add_param_group']
