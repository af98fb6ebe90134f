"""Dense multi-task benchmarks: NYUv2 and Cityscapes in the MTAN ``.npy``
layout, with the MTPSL/JTR partial-label settings and JTR's
augmentations."""
from .augment import PHOTOMETRIC_OPS, DenseRandAugment, DenseRandomScaleCrop
from .cityscapes_dataset import CityscapesMTLDataset
from .dense_mtl_dataset import DenseMTLDataset
from .label_weights import (SETTINGS, load_label_weights, make_label_weights,
                            partial_fraction, resolve_label_mask,
                            save_label_weights)
from .nyuv2_dataset import NYUV2_CLASSES, NYUv2MTLDataset
from .transforms import (TARGET_CHANNELS, LoadDenseMTLSample,
                         PackDenseMTLInputs, stack_targets)

__all__ = [
    'CityscapesMTLDataset', 'DenseMTLDataset', 'DenseRandAugment',
    'DenseRandomScaleCrop', 'LoadDenseMTLSample', 'PHOTOMETRIC_OPS',
    'NYUV2_CLASSES', 'NYUv2MTLDataset', 'PackDenseMTLInputs', 'SETTINGS',
    'TARGET_CHANNELS', 'load_label_weights', 'make_label_weights',
    'partial_fraction', 'resolve_label_mask', 'save_label_weights',
    'stack_targets'
]
