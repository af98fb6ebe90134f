"""Runner-level pieces that are not NexusFlow-specific."""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .fault_injection import FaultInjectionHook
from .finite_optim_wrapper import FiniteOptimWrapper
from .sync_buffers_hook import SyncTrainBuffersHook

__all__ = ['AtomicCheckpointHook', 'FaultInjectionHook', 'FiniteOptimWrapper',
           'SyncTrainBuffersHook', 'use_safe_training']


def use_safe_training(cfg) -> None:
    """Swaps the stock ``CheckpointHook`` and ``OptimWrapper`` of a config
    for their crash-safe twins (:class:`AtomicCheckpointHook`,
    :class:`FiniteOptimWrapper`); other types are left as they are.

    Args:
        cfg (Config): the full config; edited in place.
    """
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint and checkpoint.get('type') in ('CheckpointHook',
                                                 'mmengine.CheckpointHook'):
        checkpoint['type'] = 'AtomicCheckpointHook'
    wrapper = cfg.get('optim_wrapper')
    if wrapper and 'optimizer' in wrapper and wrapper.get(
            'type', 'OptimWrapper') in (
            'OptimWrapper', 'mmengine.OptimWrapper'):
        wrapper['type'] = 'FiniteOptimWrapper'
