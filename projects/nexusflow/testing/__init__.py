"""Synthetic datasets in the real formats (nuScenes devkit tables and map
expansion, MTAN ``.npy``), for tests, the demo and the benchmarks."""
from .synthetic_dense import (create_synthetic_cityscapes,
                              create_synthetic_nyuv2)
from .synthetic_nuscenes import create_synthetic_nuscenes

__all__ = [
    'create_synthetic_cityscapes', 'create_synthetic_nuscenes',
    'create_synthetic_nyuv2'
]
