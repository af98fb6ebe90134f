"""Dense multi-task learning (NYUv2, Cityscapes): SegNet MTAN-lite,
DeepLabV3+ and HRNet-18 backbones, the dense model (STL / MTL / NexusFlow)
and the partial-label baselines (MTPSL, JTR, CTAL-SS / CTAL-MS)."""
from .ctal import (CTALModule, interleave_affinities, residual_blocks,
                   task_affinity)
from .ctal_ms import CTALMultiScale
from .deeplabv3plus import ASPP, DeepLabV3PlusDecoder, DeepLabV3PlusMTL
from .dense_losses import (TASK_LOSSES, depth_loss, normal_loss,
                           semantic_loss)
from .dense_mtl_model import DenseMTLModel
from .hrnet_mtl import HRNET_W18, CrossScaleFusion, HRNetMTL
from .jtr_loss import JTRDecoder, JTRLoss
from .mtpsl import MTPSLLoss, PairMappingNet
from .segnet_mtan import SegNetEncoder, SegNetMTAN, conv_block

__all__ = [
    'ASPP', 'CTALModule', 'CTALMultiScale', 'CrossScaleFusion',
    'DeepLabV3PlusDecoder', 'DeepLabV3PlusMTL', 'DenseMTLModel', 'HRNET_W18',
    'HRNetMTL', 'JTRDecoder', 'JTRLoss', 'MTPSLLoss', 'PairMappingNet',
    'SegNetEncoder', 'SegNetMTAN', 'TASK_LOSSES', 'conv_block', 'depth_loss',
    'interleave_affinities', 'normal_loss', 'residual_blocks',
    'semantic_loss', 'task_affinity'
]
