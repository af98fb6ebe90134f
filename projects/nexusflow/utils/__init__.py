# Only the stack check here: it must run before torch/mmcv are imported, so
# that a broken environment gives one line instead of a deep ImportError.
# The other helpers are imported from their modules (utils.checkpoint, ...).
from .env import check_stack

__all__ = ['check_stack']
