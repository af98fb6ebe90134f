"""NexusFlow for MMDetection3D.

Importing the package registers its models, hooks, datasets, transforms and
metrics into mmdet3d's registries, so configs reach it with
``custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)``.
"""
from .utils import check_stack
from .utils.compat import allow_mmengine_checkpoints, patch_numpy_aliases
from .version import __version__

check_stack()
patch_numpy_aliases()
allow_mmengine_checkpoints()

from . import (analysis, attach, baselines, core, datasets,  # noqa: E402,F401
               evaluation, hosts)

__all__ = ['__version__']
