"""One-to-one Hungarian matching of map queries to GT map elements."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor


def dice_cost(mask_preds: Tensor, gt_masks: Tensor,
              eps: float = 1e-3) -> Tensor:
    """``1 - 2 |p g| / (|p|^2 + eps + |g|^2 + eps)`` for every pair (UniAD's
    mask cost; GT masks are resized bilinearly to the predictions' size).

    Args:
        mask_preds (Tensor): ``(n, h, w)`` mask values.
        gt_masks (Tensor): ``(m, H, W)`` binary masks.
        eps (float): added to each squared norm. Defaults to 1e-3.

    Returns:
        Tensor: ``(n, m)`` costs.
    """
    gt_masks = gt_masks.float()
    if gt_masks.shape[-2:] != mask_preds.shape[-2:]:
        gt_masks = F.interpolate(gt_masks[None], size=mask_preds.shape[-2:],
                                 mode='bilinear', align_corners=False)[0]
    pred, gt = mask_preds.flatten(1), gt_masks.flatten(1)
    inter = pred @ gt.T
    norms = (pred * pred).sum(1)[:, None] + (gt * gt).sum(1)[None] + 2 * eps
    return 1 - 2 * inter / norms


class PanopticMatcher:
    """Hungarian matching on a weighted sum of costs: sigmoid focal cost of
    the GT class, L1 between normalised ``(cx, cy, w, h)`` boxes, negative
    GIoU of pixel boxes and (optionally) :func:`dice_cost` of the masks.

    Args:
        cls_weight (float): focal cost weight.
        l1_weight (float): box L1 cost weight.
        giou_weight (float): GIoU cost weight.
        mask_weight (float, optional): Dice cost weight; None: boxes only.
    """

    def __init__(self, cls_weight: float, l1_weight: float,
                 giou_weight: float,
                 mask_weight: Optional[float] = None) -> None:
        self.costs = [
            # mmdet's names, whatever the default scope (mmdet3d in configs).
            TASK_UTILS.build(dict(type='mmdet.FocalLossCost',
                                  weight=cls_weight)),
            TASK_UTILS.build(dict(type='mmdet.BBoxL1Cost', weight=l1_weight,
                                  box_format='xywh')),
            TASK_UTILS.build(dict(type='mmdet.IoUCost', iou_mode='giou',
                                  weight=giou_weight))
        ]
        self.mask_weight = mask_weight

    def __call__(self, cls_scores: Tensor, bbox_preds: Tensor,
                 gt_labels: Tensor, gt_bboxes: Tensor,
                 canvas: Sequence[int],
                 mask_preds: Optional[Tensor] = None,
                 gt_masks: Optional[Tensor] = None
                 ) -> Tuple[Tensor, Tensor]:
        """Matches predictions to GT.

        Args:
            cls_scores (Tensor): ``(n, K)`` logits.
            bbox_preds (Tensor): ``(n, 4)`` normalised ``(cx, cy, w, h)``.
            gt_labels (Tensor): ``(m,)``.
            gt_bboxes (Tensor): ``(m, 4)`` pixel ``(x1, y1, x2, y2)``.
            canvas (Sequence[int]): ``(H, W)`` the boxes are relative to.
            mask_preds (Tensor, optional): ``(n, h, w)``; needed with a
                mask weight.
            gt_masks (Tensor, optional): ``(m, H, W)``.

        Returns:
            tuple[Tensor, Tensor]: matched prediction indices (ascending)
            and their GT indices, ``min(n, m)`` each.
        """
        device = bbox_preds.device
        if len(gt_labels) == 0 or len(bbox_preds) == 0:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return empty, empty
        height, width = canvas
        factor = bbox_preds.new_tensor([width, height, width, height])
        preds = InstanceData(scores=cls_scores.detach(),
                             bboxes=bbox_cxcywh_to_xyxy(bbox_preds.detach()) *
                             factor)
        gts = InstanceData(labels=gt_labels, bboxes=gt_bboxes.float())
        meta = dict(img_shape=(height, width))
        cost = sum(c(preds, gts, meta) for c in self.costs)
        if self.mask_weight is not None:
            cost = cost + self.mask_weight * dice_cost(mask_preds.detach(),
                                                       gt_masks)
        rows, cols = linear_sum_assignment(cost.cpu().numpy())
        return (torch.as_tensor(rows, dtype=torch.long, device=device),
                torch.as_tensor(cols, dtype=torch.long, device=device))
