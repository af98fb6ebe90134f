"""Dense multi-task learning (NYUv2, Cityscapes): a SegNet MTAN-lite
backbone, the dense model (STL / MTL / NexusFlow) and the partial-label
baselines."""
from .ctal import CTALModule, interleave_affinities, task_affinity
from .dense_losses import (TASK_LOSSES, depth_loss, normal_loss,
                           semantic_loss)
from .dense_mtl_model import DenseMTLModel
from .jtr_loss import JTRDecoder, JTRLoss
from .mtpsl import MTPSLLoss, PairMappingNet
from .segnet_mtan import SegNetEncoder, SegNetMTAN, conv_block

__all__ = [
    'CTALModule', 'DenseMTLModel', 'JTRDecoder', 'JTRLoss', 'MTPSLLoss',
    'PairMappingNet', 'SegNetEncoder', 'SegNetMTAN', 'TASK_LOSSES',
    'conv_block', 'depth_loss', 'interleave_affinities', 'normal_loss',
    'semantic_loss', 'task_affinity'
]
