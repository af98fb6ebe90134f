"""Post-processing of UniAD's panoptic map head: top-k things, mask
scoring and the panoptic merge into per-class BEV masks."""
from typing import Dict, Sequence, Tuple

import torch
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy
from torch import Tensor


def top_things(cls_scores: Tensor, bbox_preds: Tensor, num_keep: int,
               canvas: Sequence[int]) -> Tuple[Tensor, Tensor, Tensor]:
    """The ``num_keep`` best (query, class) pairs of one sample.

    Args:
        cls_scores (Tensor): ``(Q, K)`` logits.
        bbox_preds (Tensor): ``(Q, 4)`` normalised ``(cx, cy, w, h)``.
        num_keep (int): pairs kept (a query may appear with several
            classes).
        canvas (Sequence[int]): ``(H, W)`` pixels.

    Returns:
        tuple[Tensor, Tensor, Tensor]: query indices ``(k,)``, boxes ``(k,
        5)`` (x1, y1, x2, y2 in canvas pixels, clamped, then the score) and
        labels ``(k,)``.
    """
    num_classes = cls_scores.shape[-1]
    scores, index = cls_scores.sigmoid().flatten().topk(
        min(num_keep, cls_scores.numel()))
    labels = index % num_classes
    query = index // num_classes
    height, width = canvas
    boxes = bbox_cxcywh_to_xyxy(bbox_preds[query])
    boxes[:, 0::2] = (boxes[:, 0::2] * width).clamp(min=0, max=width)
    boxes[:, 1::2] = (boxes[:, 1::2] * height).clamp(min=0, max=height)
    return query, torch.cat([boxes, scores[:, None]], -1), labels


def merge_panoptic(thing_masks: Tensor, stuff_mask: Tensor, boxes: Tensor,
                   labels: Tensor, num_things: int,
                   mask_threshold: float = 0.5,
                   score_threshold: float = 0.1,
                   overlap_threshold: float = 0.4) -> Dict[str, Tensor]:
    """UniAD's panoptic merge of one sample's thing masks.

    Each thing's score is its class score times ``s**2``, ``s`` the mean
    mask value over its pixels above ``mask_threshold`` (over ``count +
    1``); things are sorted by it and pasted in that order, skipping those
    under ``score_threshold`` and those whose pixels overlap the pasted ones
    by more than ``overlap_threshold``; a pasted thing only takes free
    pixels. As in UniAD, class 0 is written as 0 in the panoptic label
    plane, so its pixels count as free for the overlap test and for later
    things (its ``lanes`` plane and instance id are kept).

    Args:
        thing_masks (Tensor): ``(k, H, W)`` mask values.
        stuff_mask (Tensor): ``(H, W)`` drivable mask values.
        boxes (Tensor): ``(k, 5)`` from :func:`top_things`.
        labels (Tensor): ``(k,)`` thing classes.
        num_things (int): thing classes.
        mask_threshold (float): mask binarisation. Defaults to 0.5.
        score_threshold (float): minimal thing score. Defaults to 0.1.
        overlap_threshold (float): maximal overlap with pasted things.
            Defaults to 0.4.

    Returns:
        dict[str, Tensor]: ``bboxes`` ``(k, 5)`` sorted, the last column
        the merged score; ``labels`` ``(k,)``; ``masks`` ``(k, H, W)`` bool;
        ``drivable`` ``(H, W)`` bool; ``lanes`` ``(num_things, H, W)``
        int64 (pasted pixels per class); ``lane_scores`` (their mask
        values); ``panoptic`` ``(H, W, 2)`` int64 (label, instance id).
    """
    binary = thing_masks > mask_threshold
    quality = (thing_masks * binary).sum((1, 2)) / (binary.sum((1, 2)) + 1)
    scores, order = torch.sort(boxes[:, -1] * quality**2, descending=True)
    thing_masks, binary = thing_masks[order], binary[order]
    labels = labels[order]
    boxes = boxes[order].clone()
    boxes[:, -1] = scores
    height, width = thing_masks.shape[-2:]
    panoptic = labels.new_zeros((2, height, width))
    lanes = labels.new_zeros((num_things, height, width))
    lane_scores = thing_masks.new_zeros((num_things, height, width))
    instance = 1
    for i in range(len(scores)):
        if scores[i] < score_threshold:
            continue
        mask = binary[i]
        area = int(mask.sum())
        taken = mask & (panoptic[0] > 0)
        overlap = int(taken.sum())
        if area == 0 or overlap / area > overlap_threshold:
            continue
        if overlap:
            mask = mask & (panoptic[0] == 0)
        label = int(labels[i])
        panoptic[0][mask] = label
        panoptic[1][mask] = instance
        lanes[label][mask] = 1
        lane_scores[label][mask] = thing_masks[i][mask]
        instance += 1
    return dict(bboxes=boxes, labels=labels, masks=binary,
                drivable=stuff_mask > mask_threshold, lanes=lanes,
                lane_scores=lane_scores, panoptic=panoptic.permute(1, 2, 0))
