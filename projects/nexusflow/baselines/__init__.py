"""Partial-label baselines NexusFlow is compared with, usable on the dense
hosts and on UniAD: MTPSL, JTR and CTAL (single- and multi-scale)."""
from .ctal import (CTALModule, interleave_affinities, residual_blocks,
                   task_affinity)
from .ctal_ms import CTALMultiScale
from .jtr_loss import JTRDecoder, JTRLoss
from .mtpsl import MTPSLLoss, PairMappingNet
from .targets import check_mask_tasks, target_validity

__all__ = [
    'CTALModule', 'CTALMultiScale', 'JTRDecoder', 'JTRLoss', 'MTPSLLoss',
    'PairMappingNet', 'check_mask_tasks', 'interleave_affinities',
    'residual_blocks', 'target_validity', 'task_affinity'
]
