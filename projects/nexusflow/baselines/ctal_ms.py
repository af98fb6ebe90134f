"""CTAL in the multi-scale framework (CTAL-MS, WACV 2025): initial
predictions at every encoder scale, cross-scale fusion per task, then a
single cross-task affinity module."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ..hosts.dense.hrnet_mtl import CrossScaleFusion
from .ctal import CTALModule, residual_blocks


@MODELS.register_module()
class CTALMultiScale(BaseModule):
    """Multi-scale task-prediction distillation with one CTAL.

    For every task t and encoder scale k, an initial-prediction decoder
    (``initial_blocks`` residual blocks) gives features ``F_{t,k}`` and a
    1x1 conv the deep-supervised initial prediction. Each task then fuses
    its ``F_{t,k}`` with a :class:`CrossScaleFusion` at the finest scale,
    and a :class:`CTALModule` (``with_initial=False``) refines the fused
    features across tasks. Unlike MTI-Net, the cross-task step runs once,
    after the fusion.

    The refined features and the initial predictions are upsampled to the
    input size (``base_stride`` times the finest scale, scale k at
    ``base_stride * 2^k``), so the model's heads and losses see them at the
    input resolution as with single-scale backbones.

    Args:
        tasks (dict[str, int]): ``{task: output channels}``, filled in by
            the model.
        in_channels (Sequence[int]): widths of the encoder scales, finest
            first; filled in by the model from the backbone.
        channels (int): width of the fused features and of the CTAL.
            Defaults to 64.
        base_stride (int): stride of the finest scale. Defaults to 4.
        initial_blocks (int): residual blocks per initial-prediction
            decoder. Defaults to 2 (the paper).
        size (Sequence[int]): CTAL affinity resolution (H, W); the finest
            scale of NYUv2's 288x384 by default, so no resizing is needed.
            Defaults to (72, 96).
        kernel_size (int): CTAL grouped conv filter size. Defaults to 3.
        gamma (float): CTAL blending factor. Defaults to 0.05.
        efficient (bool): chunked CTAL diffusion. Defaults to True.
        chunk_size (int): columns per chunk. Defaults to 1024.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 tasks: Dict[str, int],
                 in_channels: Sequence[int],
                 channels: int = 64,
                 base_stride: int = 4,
                 initial_blocks: int = 2,
                 size: Sequence[int] = (72, 96),
                 kernel_size: int = 3,
                 gamma: float = 0.05,
                 efficient: bool = True,
                 chunk_size: int = 1024,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, int) or len(in_channels) < 2:
            raise ValueError(f'CTALMultiScale: in_channels must list the '
                             f'widths of at least two encoder scales (a '
                             f'multi-scale backbone such as HRNetMTL with '
                             f'multi_scale=True), got {in_channels}')
        self.task_names = list(tasks)
        self.scale_channels = tuple(int(c) for c in in_channels)
        self.base_stride = int(base_stride)
        self.out_channels = int(channels)
        self.initial = nn.ModuleDict({
            task: nn.ModuleList(
                residual_blocks(width, initial_blocks)
                for width in self.scale_channels)
            for task in self.task_names
        })
        self.initial_heads = nn.ModuleDict({
            task: nn.ModuleList(
                nn.Conv2d(width, out, 1) for width in self.scale_channels)
            for task, out in tasks.items()
        })
        self.fusion = nn.ModuleDict({
            task: CrossScaleFusion(self.scale_channels, self.out_channels)
            for task in self.task_names
        })
        self.ctal = CTALModule(
            tasks, in_channels=self.out_channels, size=size,
            kernel_size=kernel_size, gamma=gamma, efficient=efficient,
            chunk_size=chunk_size, with_initial=False)

    def _upsample(self, x: Tensor, stride: int) -> Tensor:
        return F.interpolate(x, scale_factor=stride, mode='bilinear',
                             align_corners=False)

    def forward(self, feats: Dict[str, Sequence[Tensor]]
                ) -> Tuple[Dict[str, Tensor], Dict[str, List[Tensor]]]:
        """Refines the multi-scale task features.

        Args:
            feats (dict[str, Sequence[Tensor]]): ``{task: (f_0, ...,
                f_S-1)}``, ``f_k`` (B, in_channels[k], H_0 / 2^k,
                W_0 / 2^k).

        Returns:
            tuple[dict, dict]: refined features (B, channels, H, W) and the
            raw initial predictions ``{task: [p_0, ..., p_S-1]}``, each
            (B, O_t, H, W), with (H, W) = ``base_stride`` * (H_0, W_0).
        """
        missing = [t for t in self.task_names if t not in feats]
        if missing:
            raise ValueError(f'CTALMultiScale: features of tasks {missing} '
                             f'missing, got {list(feats)}')
        fused, initial_preds = [], {}
        for task in self.task_names:
            scales = feats[task]
            if isinstance(scales, Tensor) or \
                    len(scales) != len(self.scale_channels):
                raise ValueError(
                    f'CTALMultiScale: task {task!r} needs '
                    f'{len(self.scale_channels)} feature scales (a '
                    f'multi-scale backbone), got '
                    f'{type(scales).__name__}')
            decoded = [block(f)
                       for block, f in zip(self.initial[task], scales)]
            initial_preds[task] = [
                self._upsample(head(f), self.base_stride * 2**k)
                for k, (head, f) in enumerate(
                    zip(self.initial_heads[task], decoded))
            ]
            fused.append(self.fusion[task](decoded))
        refined = {
            task: self._upsample(feat, self.base_stride)
            for task, feat in zip(self.task_names, self.ctal.distill(fused))
        }
        return refined, initial_preds
