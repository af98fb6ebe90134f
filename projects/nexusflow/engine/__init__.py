"""Runner-level pieces that are not NexusFlow-specific."""
from .sync_buffers_hook import SyncTrainBuffersHook

__all__ = ['SyncTrainBuffersHook']
