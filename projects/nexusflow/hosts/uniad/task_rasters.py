"""Dense BEV pictures of the track and map tasks for dense partial-label
regularizers (MTPSL, JTR) on UniAD.

MTPSL and JTR compare task outputs pixel by pixel, which a set of track
boxes does not offer. We give both tasks the same BEV grid: the track task
becomes an object-centre heatmap (a Gaussian per box, weighted by its
score; differentiable in the centres and the scores), the map task its
per-class probabilities resampled to that grid: the dense map head's
sigmoid, or for UniAD's panoptic head a soft union of its thing masks per
class plus its stuff mask (:func:`panoptic_soft_masks`). Rows follow LiDAR
y (row 0 at the smallest y), columns LiDAR x, as in the map canvas.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ...utils.graph import graph_zero


def splat_centers(centers: Tensor,
                  weights: Tensor,
                  pc_range: Sequence[float],
                  size: Tuple[int, int],
                  sigma: float = 1.0,
                  radius: int = 2) -> Tensor:
    """Renders weighted Gaussian blobs at BEV centres.

    Each centre adds ``weight * exp(-d^2 / (2 sigma^2))`` (``d`` in cells)
    to the cells within ``radius`` of its own cell, so memory grows with
    the number of centres, not with the grid; the sum is clipped at 1.

    Args:
        centers (Tensor): ``(N, 2)`` LiDAR ``(x, y)`` in metres.
        weights (Tensor): ``(N, )`` weights in ``[0, 1]``.
        pc_range (Sequence[float]): ``[x_min, y_min, z_min, x_max, y_max,
            z_max]`` covered by the grid.
        size (tuple[int, int]): ``(H, W)`` of the grid.
        sigma (float): Gaussian width in cells. Defaults to 1.0.
        radius (int): half-width of the window each centre touches, in
            cells. Defaults to 2.

    Returns:
        Tensor: ``(H, W)`` heatmap in ``[0, 1]``.
    """
    height, width = int(size[0]), int(size[1])
    heat = weights.new_zeros(height * width)
    if len(centers) == 0:
        return heat.view(height, width) + graph_zero(weights)
    cell = centers.new_tensor([(pc_range[3] - pc_range[0]) / width,
                               (pc_range[4] - pc_range[1]) / height])
    pos = (centers[:, :2] - centers.new_tensor(pc_range[:2])) / cell - 0.5
    base = pos.detach().round().long()
    steps = torch.arange(-radius, radius + 1, device=centers.device)
    dy, dx = torch.meshgrid(steps, steps, indexing='ij')
    cols = base[:, None, 0] + dx.flatten()[None]
    rows = base[:, None, 1] + dy.flatten()[None]
    dist2 = (cols - pos[:, None, 0])**2 + (rows - pos[:, None, 1])**2
    values = weights[:, None] * torch.exp(-dist2 / (2 * sigma**2))
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    flat = (rows * width + cols)[inside]
    heat = heat.index_add(0, flat, values[inside])
    return heat.clamp(max=1.0).view(height, width)


def panoptic_soft_masks(head, preds: Dict[str, Tensor],
                        num_keep: Optional[int] = None,
                        eps: float = 1e-6) -> Tensor:
    """Differentiable per-class map probabilities of a panoptic map head.

    The panoptic head's own inference (a hard, sorted paste of binarised
    thing masks) has no gradient, so a dense regularizer gets this instead.
    The ``num_keep`` queries with the highest class probability of the last
    location-decoder layer (as the inference picks them) go through the
    thing mask decoder; with ``p_qc`` a kept query's class-``c`` probability
    and ``m_q`` its mask clamped to ``[0, 1]``, class ``c``'s plane is the
    probability that some kept query covers the cell with class ``c``,
    ``1 - prod_q (1 - p_qc * m_q)``. The drivable plane is the stuff
    decoder's mask clamped to ``[0, 1]``. Gradients reach the class scores,
    the queries, the memory and both mask decoders; only the choice of
    queries is not differentiable.

    Args:
        head (UniADPanopticMapHead): the head (its ``decode_masks`` and
            ``test_cfg['max_per_img']``).
        preds (dict): the head's ``forward`` outputs (``cls_scores``,
            ``query``, ``memory``, ``bev_hw``).
        num_keep (int, optional): queries kept per sample; defaults to the
            head's ``test_cfg['max_per_img']`` (at most all queries).
        eps (float): keeps the log of the union finite. Defaults to 1e-6.

    Returns:
        Tensor: ``(B, num_things + 1, h, w)`` in ``[0, 1]`` on the BEV grid
        ``preds['bev_hw']``: the thing classes, then drivable.
    """
    probs = preds['cls_scores'][-1].sigmoid()  # (B, Q, K)
    query = preds['query']
    keep = min(int(num_keep or head.test_cfg['max_per_img']),
               probs.shape[1])
    index = probs.detach().max(-1).values.topk(keep, dim=1).indices
    query = torch.gather(query, 1,
                         index[..., None].expand(-1, -1, query.shape[-1]))
    probs = torch.gather(probs, 1,
                         index[..., None].expand(-1, -1, probs.shape[-1]))
    things, _, stuff, _, _ = head.decode_masks(preds['memory'], query)
    # (B, K, k, h*w): query q covers a cell with class c.
    covers = probs.transpose(1, 2)[..., None] * things.clamp(0, 1)[:, None]
    missed = torch.log1p(-covers.clamp(max=1 - eps)).sum(2)
    planes = torch.cat([1 - missed.exp(), stuff.clamp(0, 1)], 1)
    return planes.unflatten(-1, tuple(preds['bev_hw']))


class TrackMapRasters:
    """Builds the ``preds`` / ``targets`` / ``labeled`` dictionaries a
    dense regularizer (``MTPSLLoss``, ``JTRLoss``) expects, for one frame.

    Tasks: ``track`` (1 channel, object-centre heatmap) and ``map`` (one
    channel per map class, probabilities). Targets of unlabeled samples
    are zeros and their ``labeled`` flag is False, so the regularizers use
    them nowhere as labels.

    Args:
        pc_range (Sequence[float]): the BEV extent.
        size (tuple[int, int]): ``(H, W)`` of the common grid; the
            regularizers pool it ``2^S`` times, so make it divisible.
        num_map_classes (int): map channels.
        sigma (float): Gaussian width of a track blob, in cells.
    """

    def __init__(self, pc_range: Sequence[float], size: Sequence[int],
                 num_map_classes: int, sigma: float = 1.0) -> None:
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f'TrackMapRasters: size must be (H, W) > 0, '
                             f'got {size}')
        self.pc_range = tuple(float(v) for v in pc_range)
        self.size = (int(size[0]), int(size[1]))
        self.channels = dict(track=1, map=int(num_map_classes))
        self.sigma = float(sigma)

    def _heat(self, centers: Tensor, weights: Tensor) -> Tensor:
        return splat_centers(centers, weights, self.pc_range, self.size,
                             self.sigma)[None]

    def track_prediction(self, box_codes: Tensor,
                         cls_scores: Tensor) -> Tensor:
        """``(1, H, W)`` heatmap of one sample's queries, each weighted by
        its best class probability.

        Args:
            box_codes (Tensor): ``(Q, 10)`` last-layer metric box codes.
            cls_scores (Tensor): ``(Q, K)`` last-layer class logits.
        """
        return self._heat(box_codes[:, :2],
                          cls_scores.sigmoid().max(dim=-1).values)

    def track_target(self, gt_boxes: Optional[Tensor],
                     device: torch.device) -> Tensor:
        """``(1, H, W)`` heatmap of the GT box centres (weight 1).

        Args:
            gt_boxes (Tensor, optional): ``(N, >=2)`` boxes (x, y first).
            device (torch.device): where to build it.
        """
        if gt_boxes is None or len(gt_boxes) == 0:
            return torch.zeros(1, *self.size, device=device)
        centers = gt_boxes[:, :2].to(device=device, dtype=torch.float32)
        return self._heat(centers, torch.ones(len(centers), device=device))

    def resample(self, maps: Tensor) -> Tensor:
        """``(B, K, h, w)`` probabilities or masks on the common grid
        (area average when shrinking)."""
        maps = maps.float()
        if tuple(maps.shape[-2:]) == self.size:
            return maps
        if maps.shape[-2] >= self.size[0] and maps.shape[-1] >= self.size[1]:
            return F.adaptive_avg_pool2d(maps, self.size)
        return F.interpolate(maps, size=self.size, mode='bilinear',
                             align_corners=False)

    def build(self, track_preds: List[Tensor], track_targets: List[Tensor],
              map_probs: Tensor, map_targets: List[Optional[Tensor]],
              track_labeled: Sequence[bool], map_labeled: Sequence[bool]
              ) -> Tuple[dict, dict, dict]:
        """The regularizer inputs of one frame.

        Args:
            track_preds (list[Tensor]): per sample ``(1, H, W)``.
            track_targets (list[Tensor]): per sample ``(1, H, W)``.
            map_probs (Tensor): ``(B, K, h, w)`` map class probabilities
                (any grid; resampled): the dense head's sigmoid or
                :func:`panoptic_soft_masks`.
            map_targets (list[Tensor | None]): per sample ``(K, h', w')``
                GT masks, None where unlabeled.
            track_labeled (Sequence[bool]): per-sample track labels.
            map_labeled (Sequence[bool]): per-sample map labels.

        Returns:
            tuple[dict, dict, dict]: ``preds``, ``targets`` and
            ``labeled`` keyed by ``track`` / ``map``.
        """
        device = map_probs.device
        map_pred = self.resample(map_probs)
        gt_map = torch.zeros_like(map_pred)
        for b, mask in enumerate(map_targets):
            if mask is not None and map_labeled[b]:
                gt_map[b] = self.resample(mask[None].to(device))[0]
        preds = dict(track=torch.stack(track_preds), map=map_pred)
        targets = dict(track=torch.stack(track_targets), map=gt_map)
        labeled = dict(
            track=torch.tensor(list(track_labeled), dtype=torch.bool,
                               device=device),
            map=torch.tensor(list(map_labeled), dtype=torch.bool,
                             device=device))
        return preds, targets, labeled
