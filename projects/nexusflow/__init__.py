"""NexusFlow for MMDetection3D.

Importing the package registers its models, hooks, datasets, transforms and
metrics into mmdet3d's registries, so configs reach it with
``custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)``.
"""
from .utils import check_stack
from .version import __version__

check_stack()

from . import (analysis, attach, baselines, core, datasets,  # noqa: E402,F401
               engine, evaluation, hosts, visualization)

__all__ = ['__version__']
