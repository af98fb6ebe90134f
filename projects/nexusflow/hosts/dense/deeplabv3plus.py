"""DeepLabV3+ for dense multi-task learning: a shared dilated ResNet and a
per-task ASPP + decoder (ours; mmseg is not a dependency)."""
import copy
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .segnet_mtan import conv_block

# ResNet stage strides / dilations giving output stride 8 or 16, and the
# ASPP rates DeepLabV3 pairs with them.
OUTPUT_STRIDES = {
    8: dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
            aspp=(12, 24, 36)),
    16: dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2), aspp=(6, 12, 18)),
}


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: a 1x1 branch, one 3x3 branch per
    dilation and an image-pooling branch, concatenated and projected.

    Args:
        in_channels (int): input width.
        channels (int): width of every branch and of the output.
        dilations (Sequence[int]): rates of the 3x3 branches.
    """

    def __init__(self, in_channels: int, channels: int,
                 dilations: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList([conv_block(in_channels, channels, 1)])
        for rate in dilations:
            self.branches.append(nn.Sequential(
                nn.Conv2d(in_channels, channels, 3, padding=rate,
                          dilation=rate, bias=False),
                nn.BatchNorm2d(channels), nn.ReLU(inplace=True)))
        # No BatchNorm on the pooled 1x1 map: it would fail on a batch of
        # one in training.
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, channels, 1),
            nn.ReLU(inplace=True))
        self.project = conv_block(channels * (len(dilations) + 2), channels,
                                  1)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, h, w) -> (B, channels, h, w)."""
        outs = [branch(x) for branch in self.branches]
        outs.append(self.image_pool(x).expand(-1, -1, *x.shape[-2:]))
        return self.project(torch.cat(outs, dim=1))


class DeepLabV3PlusDecoder(nn.Module):
    """ASPP on the high-level feature, upsampled to the stride-4 low-level
    feature (projected to ``low_level_channels``), concatenated and refined
    by two 3x3 conv blocks.

    Args:
        in_channels (int): high-level width.
        low_level_in (int): low-level width.
        channels (int): ASPP and decoder width.
        low_level_channels (int): width of the projected low-level feature.
        dilations (Sequence[int]): ASPP rates.
    """

    def __init__(self, in_channels: int, low_level_in: int, channels: int,
                 low_level_channels: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.aspp = ASPP(in_channels, channels, dilations)
        self.low_level = conv_block(low_level_in, low_level_channels, 1)
        self.refine = nn.Sequential(
            conv_block(channels + low_level_channels, channels),
            conv_block(channels, channels))

    def forward(self, low: Tensor, high: Tensor) -> Tensor:
        """Decodes to (B, channels) at the low-level resolution."""
        context = F.interpolate(self.aspp(high), size=low.shape[-2:],
                                mode='bilinear', align_corners=False)
        return self.refine(torch.cat([context, self.low_level(low)], dim=1))


@MODELS.register_module()
class DeepLabV3PlusMTL(BaseModule):
    """Shared dilated ResNet encoder; each task has its own ASPP and
    DeepLabV3+ decoder; the decoded stride-4 features are upsampled to the
    input size (the SegNetMTAN interface).

    Args:
        tasks (Sequence[str]): task names.
        encoder (dict, optional): config of an mmdet ``ResNet``; its
            ``strides``, ``dilations`` and ``out_indices`` are set from
            ``output_stride``. Defaults to a ResNet-50 with trainable
            BatchNorm statistics.
        in_channels (int): image channels. Defaults to 3.
        output_stride (int): 8 or 16. Defaults to 16.
        channels (int): ASPP and decoder width. Defaults to 256.
        low_level_channels (int): projected low-level width. Defaults to
            48.
        aspp_dilations (Sequence[int], optional): ASPP rates. Defaults to
            (6, 12, 18) at output stride 16 and (12, 24, 36) at 8.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 encoder: Optional[dict] = None,
                 in_channels: int = 3,
                 output_stride: int = 16,
                 channels: int = 256,
                 low_level_channels: int = 48,
                 aspp_dilations: Optional[Sequence[int]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not tasks:
            raise ValueError('DeepLabV3PlusMTL: tasks must not be empty')
        if output_stride not in OUTPUT_STRIDES:
            raise ValueError(f'DeepLabV3PlusMTL: output_stride must be one '
                             f'of {sorted(OUTPUT_STRIDES)}, got '
                             f'{output_stride}')
        self.tasks = list(tasks)
        setting = OUTPUT_STRIDES[output_stride]
        encoder = copy.deepcopy(encoder) if encoder is not None else dict(
            type='mmdet.ResNet', depth=50, norm_eval=False)
        encoder.update(in_channels=in_channels, num_stages=4,
                       out_indices=(0, 3), strides=setting['strides'],
                       dilations=setting['dilations'])
        self.encoder = MODELS.build(encoder)
        # Stage i of an mmdet ResNet outputs expansion * base * 2^i.
        low_in = self.encoder.block.expansion * self.encoder.base_channels
        high_in = self.encoder.feat_dim
        self.output_stride = output_stride
        self.out_channels = int(channels)
        dilations = tuple(aspp_dilations or setting['aspp'])
        self.decoders = nn.ModuleDict({
            task: DeepLabV3PlusDecoder(high_in, low_in, self.out_channels,
                                       low_level_channels, dilations)
            for task in self.tasks
        })

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        """Computes the task features.

        Args:
            x (Tensor): (B, in_channels, H, W).

        Returns:
            dict[str, Tensor]: ``{task: (B, channels, H, W)}``.
        """
        low, high = self.encoder(x)
        size = x.shape[-2:]
        return {
            task: F.interpolate(self.decoders[task](low, high), size=size,
                                mode='bilinear', align_corners=False)
            for task in self.tasks
        }
