"""Dense multi-task hosts (NYUv2, Cityscapes): SegNet MTAN-lite, DeepLabV3+
and HRNet-18, and the dense model (STL / MTL, NexusFlow through its neck)."""
from .deeplabv3plus import ASPP, DeepLabV3PlusDecoder, DeepLabV3PlusMTL
from .dense_losses import (TASK_LOSSES, depth_loss, labeled_tensor,
                           normal_loss, semantic_loss)
from .dense_mtl_model import DenseMTLModel
from .hrnet_mtl import HRNET_W18, CrossScaleFusion, HRNetMTL
from .segnet_mtan import SegNetEncoder, SegNetMTAN, conv_block

__all__ = [
    'ASPP', 'CrossScaleFusion', 'DeepLabV3PlusDecoder', 'DeepLabV3PlusMTL',
    'DenseMTLModel', 'HRNET_W18', 'HRNetMTL', 'SegNetEncoder', 'SegNetMTAN',
    'TASK_LOSSES', 'conv_block', 'depth_loss', 'labeled_tensor',
    'normal_loss', 'semantic_loss'
]
