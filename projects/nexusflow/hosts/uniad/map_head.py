"""Dense BEV map head: a small conv decoder from the BEV to four mask logits.

UniAD segments the map with a panoptic query head (300 queries, deformable
encoder and decoder, Hungarian matching). This slice uses a dense head
instead, on purpose:

* its output is exactly what ``BEVMapIoUMetric`` scores: one probability
  plane per class (divider, ped_crossing, contour, drivable) on the GT
  canvas, so no panoptic-to-raster conversion sits between the model and
  the metric;
* it costs a few convolutions on the BEV rather than a second transformer
  with matching, which keeps training and tests cheap on a CPU;
* its intermediate feature is a ``(B, C, H, W)`` map on the BEV grid, the
  dense counterpart of the track head's query set that NexusFlow aligns.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ...utils.graph import graph_zero


@MODELS.register_module()
class BEVMapHead(BaseModule):
    """Conv decoder: BEV -> feature -> upsampled mask logits.

    ``num_convs`` 3x3 conv blocks on the BEV give the intermediate feature;
    it is upsampled (bilinear) to ``out_size`` and a 3x3 conv block plus a
    1x1 conv give one logit plane per class. Loss: a per-pixel loss
    (sigmoid cross-entropy or focal) plus a per-class Dice loss, over the
    labeled samples only.

    Args:
        in_channels (int): BEV channels. Defaults to 256.
        feat_channels (int): decoder width. Defaults to 128.
        num_classes (int): mask planes. Defaults to 4.
        out_size (Sequence[int]): ``(H, W)`` of the map GT canvas. Defaults
            to (200, 200).
        num_convs (int): conv blocks before upsampling. Defaults to 2.
        norm_cfg (dict): normalisation of the conv blocks.
        loss_mask (dict): per-pixel loss on ``(B, K, H, W)`` logits and
            binary targets.
        loss_dice (dict, optional): Dice loss on ``(B*K, H*W)``; None
            disables it.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int = 256,
                 feat_channels: int = 128,
                 num_classes: int = 4,
                 out_size: Sequence[int] = (200, 200),
                 num_convs: int = 2,
                 norm_cfg: dict = dict(type='BN2d'),
                 loss_mask: dict = dict(
                     type='mmdet.CrossEntropyLoss', use_sigmoid=True,
                     loss_weight=1.0),
                 loss_dice: Optional[dict] = dict(
                     type='mmdet.DiceLoss', use_sigmoid=True,
                     loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.out_size = tuple(int(v) for v in out_size)
        self.convs = nn.Sequential(*[
            ConvModule(in_channels if i == 0 else feat_channels,
                       feat_channels, 3, padding=1, norm_cfg=norm_cfg)
            for i in range(num_convs)
        ])
        self.out_feat_channels = feat_channels if num_convs else in_channels
        self.upsample_conv = ConvModule(self.out_feat_channels,
                                        feat_channels, 3, padding=1,
                                        norm_cfg=norm_cfg)
        self.cls_conv = nn.Conv2d(feat_channels, num_classes, 1)
        self.loss_mask = MODELS.build(loss_mask)
        self.loss_dice = MODELS.build(loss_dice) if loss_dice else None

    def forward(self, bev: Tensor) -> Tuple[Tensor, Tensor]:
        """Mask logits and the intermediate feature.

        Args:
            bev (Tensor): ``(B, C, H, W)`` BEV feature.

        Returns:
            tuple[Tensor, Tensor]: ``(B, K, *out_size)`` logits and the
            ``(B, feat_channels, H, W)`` feature.
        """
        feat = self.convs(bev)
        up = F.interpolate(feat, size=self.out_size, mode='bilinear',
                           align_corners=False)
        return self.cls_conv(self.upsample_conv(up)), feat

    def loss(self, logits: Tensor,
             gt_masks: List[Tensor]) -> Dict[str, Tensor]:
        """Losses over the labeled samples.

        Args:
            logits (Tensor): ``(N, K, H, W)`` logits of the labeled samples.
            gt_masks (list[Tensor]): ``N`` binary ``(K, H, W)`` masks.

        Returns:
            dict[str, Tensor]: ``loss_map_mask`` and ``loss_map_dice``.
        """
        if len(gt_masks) != len(logits):
            raise ValueError(f'BEVMapHead: {len(logits)} predictions but '
                             f'{len(gt_masks)} GT masks')
        for mask in gt_masks:
            if tuple(mask.shape) != tuple(logits.shape[1:]):
                raise ValueError(
                    f'BEVMapHead: gt_map masks have shape '
                    f'{tuple(mask.shape)} but the head predicts '
                    f'{tuple(logits.shape[1:])}; set out_size to the map '
                    f'canvas of the infos (metainfo map_canvas)')
        target = torch.stack([m.to(logits.device) for m in gt_masks]).float()
        losses = dict(loss_map_mask=self.loss_mask(logits, target))
        if self.loss_dice is not None:
            losses['loss_map_dice'] = self.loss_dice(
                logits.flatten(0, 1), target.flatten(0, 1))
        return losses

    def zero_loss(self, logits: Tensor) -> Dict[str, Tensor]:
        """Exact-zero losses (no labeled sample) that keep the head in the
        graph.

        Args:
            logits (Tensor): ``(B, K, H, W)`` logits of the batch.

        Returns:
            dict[str, Tensor]: the keys of :meth:`loss`, all zero.
        """
        zero = graph_zero(logits)
        losses = dict(loss_map_mask=zero)
        if self.loss_dice is not None:
            losses['loss_map_dice'] = zero.clone()
        return losses

    def predict(self, logits: Tensor) -> Tensor:
        """Per-class probabilities.

        Args:
            logits (Tensor): ``(B, K, H, W)``.

        Returns:
            Tensor: ``(B, K, H, W)`` in ``[0, 1]``.
        """
        return logits.sigmoid()
