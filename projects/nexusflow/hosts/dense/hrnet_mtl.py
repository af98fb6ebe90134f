"""HRNet-18 shared encoder for dense multi-task learning, single-scale (CSF
per task) or multi-scale (per-scale features for CTAL-MS)."""
import copy
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .segnet_mtan import conv_block

# HRNetV2-W18 (mmdet's ``extra`` layout): 18/36/72/144 channels at strides
# 4/8/16/32; 9.56 M parameters without a head.
HRNET_W18 = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                num_blocks=(4, ), num_channels=(64, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                num_blocks=(4, 4), num_channels=(18, 36)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC',
                num_blocks=(4, 4, 4), num_channels=(18, 36, 72)),
    stage4=dict(num_modules=3, num_branches=4, block='BASIC',
                num_blocks=(4, 4, 4, 4), num_channels=(18, 36, 72, 144)))


class CrossScaleFusion(nn.Module):
    """Cross-scale fusion (CSF) as in MTI-Net: every scale is upsampled to
    the finest one, the maps are concatenated and a conv block fuses them.

    Args:
        in_channels (Sequence[int]): widths of the scales, finest first.
        out_channels (int): fused width.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        self.fuse = conv_block(sum(self.in_channels), out_channels)

    def forward(self, scales: Sequence[Tensor]) -> Tensor:
        """Fuses ``scales`` (B, C_k, H_k, W_k) into (B, out, H_0, W_0)."""
        if len(scales) != len(self.in_channels):
            raise ValueError(f'CrossScaleFusion: expected '
                             f'{len(self.in_channels)} scales, got '
                             f'{len(scales)}')
        size = scales[0].shape[-2:]
        maps = [scales[0]] + [
            F.interpolate(s, size=size, mode='bilinear', align_corners=False)
            for s in scales[1:]
        ]
        return self.fuse(torch.cat(maps, dim=1))


@MODELS.register_module()
class HRNetMTL(BaseModule):
    """mmdet's ``HRNet`` shared by all tasks, for dense MTL.

    Single-scale mode (default) follows the SegNetMTAN interface: each task
    fuses the encoder's scales with its own :class:`CrossScaleFusion` at
    stride 4, upsampled to the input size. Multi-scale mode returns the
    shared per-scale features to a multi-scale refiner
    (:class:`CTALMultiScale`), which makes initial predictions at every
    scale and fuses them per task itself.

    mmdet's HRNet upsamples by fixed factors, so the input sides must be
    multiples of the coarsest stride (32 for the four W18 branches).

    Args:
        tasks (Sequence[str]): task names.
        encoder (dict, optional): config of the ``mmdet.HRNet`` (``extra``,
            ``norm_eval``, ``init_cfg``, ...). Defaults to HRNetV2-W18
            with trainable BatchNorm statistics; ``in_channels`` and
            ``multiscale_output`` are set here.
        in_channels (int): image channels. Defaults to 3.
        channels (int): width of each task's fused feature in single-scale
            mode (the paper does not state it; 64 keeps the full-resolution
            heads affordable). Defaults to 64.
        multi_scale (bool): return the per-scale features. Defaults to
            False.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 encoder: Optional[dict] = None,
                 in_channels: int = 3,
                 channels: int = 64,
                 multi_scale: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not tasks:
            raise ValueError('HRNetMTL: tasks must not be empty')
        self.tasks = list(tasks)
        encoder = copy.deepcopy(encoder) if encoder is not None else dict(
            type='mmdet.HRNet', extra=copy.deepcopy(HRNET_W18),
            norm_eval=False)
        if 'extra' not in encoder:
            raise ValueError('HRNetMTL: encoder needs the HRNet `extra` '
                             'stage settings (see HRNET_W18)')
        encoder.update(in_channels=in_channels, multiscale_output=True)
        self.encoder = MODELS.build(encoder)
        self.scale_channels = tuple(
            encoder['extra']['stage4']['num_channels'])
        self.stride = 4 * 2**(len(self.scale_channels) - 1)
        self.multi_scale = multi_scale
        if multi_scale:
            self.out_channels: Union[int, Tuple[int, ...]] = \
                self.scale_channels
        else:
            self.out_channels = int(channels)
            self.fusion = nn.ModuleDict({
                task: CrossScaleFusion(self.scale_channels, self.out_channels)
                for task in self.tasks
            })

    def forward(self, x: Tensor
                ) -> Dict[str, Union[Tensor, Tuple[Tensor, ...]]]:
        """Computes the task features.

        Args:
            x (Tensor): (B, in_channels, H, W); H and W multiples of
                ``self.stride``.

        Returns:
            dict: single-scale ``{task: (B, channels, H, W)}``; multi-scale
            ``{task: (f_0, ..., f_S-1)}`` with ``f_k`` the shared
            (B, C_k, H / 2^(k+2), W / 2^(k+2)).
        """
        if x.shape[-1] % self.stride or x.shape[-2] % self.stride:
            raise ValueError(f'HRNetMTL: input size {tuple(x.shape[-2:])} '
                             f'must be divisible by {self.stride} (the '
                             f'stride of the coarsest HRNet branch)')
        scales = tuple(self.encoder(x))
        if self.multi_scale:
            return {task: scales for task in self.tasks}
        size = x.shape[-2:]
        return {
            task: F.interpolate(self.fusion[task](scales), size=size,
                                mode='bilinear', align_corners=False)
            for task in self.tasks
        }
