"""UniAD's panoptic map head (Panoptic SegFormer on the BEV).

Reproduces UniAD stage 1's ``PansegformerHead``
(``projects/configs/stage1_track_map/base_track_map.py``, ``seg_head``):
a deformable encoder over the BEV, 300 learned queries decoded with box
refinement into 3 thing classes (divider, ped_crossing, contour), a thing
mask decoder for the matched / top-scoring queries and a stuff mask decoder
for the drivable area, then a panoptic merge into per-class BEV masks.
Weights converted from the official checkpoint
(:mod:`nexusflow.converters.uniad_seg_keys`) give the official outputs
(``cuda_level_layout`` on, see :class:`SegDeformableAttention`).

Training follows the official loss (values of the stage-1 config):

* every location-decoder layer: Hungarian matching on focal (2.0) + L1
  (5.0) + GIoU (2.0) costs; sigmoid focal classification loss (weight 2.0,
  gamma 2, alpha 0.25), L1 on normalised ``(cx, cy, w, h)`` (5.0) and GIoU
  on pixel boxes (2.0), averaged over the matched GT count;
* the last layer's matched queries (UniAD's "query filter": its filter
  assigner asks for up to 3 matches per GT but its loop always stops after
  the first round, so it is this one match) go through the thing mask
  decoder; they are matched again among themselves with focal (4.0: the
  official assigner doubles the configured 2.0) + L1 (5.0) + GIoU (2.0) +
  Dice (2.0) costs, and every thing-decoder layer's masks get a Dice loss
  (2.0, eps 1e-6, on 2x upsampled masks);
* the stuff decoder's masks get the same Dice loss against the drivable
  area, and every stuff layer a focal "drivable present" loss (x2);
* thing terms are scaled by ``things / (things + stuff)``, stuff terms by
  ``stuff / (things + stuff)`` (GT counts).

UniAD also computes thing-decoder box and class losses through
``reg_branches2`` / ``cls_thing_branches`` but multiplies them by 0; they
are left out here, with their branches (the total loss and every gradient
are the same).
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_xyxy_to_cxcywh
from mmengine.dist import all_reduce
from mmengine.model import BaseModule, bias_init_with_prob
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ...utils.graph import graph_zero
from .panoptic_assigner import PanopticMatcher
from .panoptic_mask_head import PanopticMaskDecoder
from .panoptic_merge import merge_panoptic, top_things
from .panoptic_transformer import PanopticTransformer, layer_references


@MODELS.register_module()
class UniADPanopticMapHead(BaseModule):
    """Panoptic query map head over the BEV.

    Interface of :class:`BEVMapHead`: ``forward(bev) -> (preds, feat)``
    (``feat`` the last decoder layer's ``(B, num_query, C)`` queries),
    ``loss(preds, targets)``, ``zero_loss(preds)`` and ``predict(preds) ->
    (B, 4, H, W)`` masks (divider, ped_crossing, contour, drivable) on the
    GT canvas.

    Args:
        embed_dims (int): width C. Defaults to 256.
        num_query (int): learned queries. Defaults to 300.
        num_things (int): thing classes. Defaults to 3.
        canvas_size (Sequence[int]): ``(H, W)`` of the GT masks and boxes.
            Defaults to (200, 200).
        transformer (dict): :class:`PanopticTransformer` arguments
            (``embed_dims`` is added).
        thing_decoder (dict): :class:`PanopticMaskDecoder` arguments of the
            thing masks. Defaults to 4 layers, 8 heads.
        stuff_decoder (dict): same for the stuff masks (with self-
            attention). Defaults to 6 layers, 8 heads.
        num_reg_fcs (int): hidden layers of the box branches. Defaults to 2.
        loss_cls (dict): classification loss (also the stuff presence).
        loss_bbox (dict): box L1 loss.
        loss_iou (dict): box IoU loss.
        loss_mask (dict): mask loss (on raw mask values).
        stuff_cls_factor (float): extra factor of the stuff presence loss.
            Defaults to 2.0.
        box_matcher (dict): :class:`PanopticMatcher` costs of the box
            matching (all location-decoder layers).
        mask_matcher (dict): :class:`PanopticMatcher` costs of the mask
            matching among the filtered queries.
        sync_avg_factor (bool): average the GT counts that normalise the
            losses over processes. Defaults to True.
        test_cfg (dict): ``max_per_img`` (top pairs kept), ``mask_threshold``,
            ``score_threshold``, ``overlap_threshold`` of the merge.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_query: int = 300,
                 num_things: int = 3,
                 canvas_size: Sequence[int] = (200, 200),
                 transformer: dict = dict(),
                 thing_decoder: dict = dict(num_layers=4, num_heads=8),
                 stuff_decoder: dict = dict(num_layers=6, num_heads=8),
                 num_reg_fcs: int = 2,
                 loss_cls: dict = dict(
                     type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0,
                     alpha=0.25, loss_weight=2.0),
                 loss_bbox: dict = dict(type='mmdet.L1Loss', loss_weight=5.0),
                 loss_iou: dict = dict(type='mmdet.GIoULoss',
                                       loss_weight=2.0),
                 loss_mask: dict = dict(
                     type='mmdet.DiceLoss', use_sigmoid=False,
                     activate=False, naive_dice=False, eps=1e-6,
                     loss_weight=2.0),
                 stuff_cls_factor: float = 2.0,
                 box_matcher: dict = dict(cls_weight=2.0, l1_weight=5.0,
                                          giou_weight=2.0),
                 mask_matcher: dict = dict(cls_weight=4.0, l1_weight=5.0,
                                           giou_weight=2.0, mask_weight=2.0),
                 sync_avg_factor: bool = True,
                 test_cfg: dict = dict(max_per_img=100, mask_threshold=0.5,
                                       score_threshold=0.1,
                                       overlap_threshold=0.4),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(canvas_size) != 2:
            raise ValueError(f'UniADPanopticMapHead: canvas_size must be '
                             f'(H, W), got {canvas_size}')
        self.embed_dims = embed_dims
        self.num_query = num_query
        self.num_things = num_things
        self.num_classes = num_things + 1  # + drivable (stuff)
        self.canvas_size = tuple(int(v) for v in canvas_size)
        self.transformer = PanopticTransformer(embed_dims=embed_dims,
                                               **transformer)
        num_layers = self.transformer.decoder.num_layers
        self.cls_branches = nn.ModuleList(
            nn.Linear(embed_dims, num_things) for _ in range(num_layers))
        self.reg_branches = nn.ModuleList(
            self._reg_branch(num_reg_fcs) for _ in range(num_layers))
        self.query_embedding = nn.Embedding(num_query, 2 * embed_dims)
        self.stuff_query = nn.Embedding(1, 2 * embed_dims)
        self.thing_decoder = PanopticMaskDecoder(embed_dims=embed_dims,
                                                 **thing_decoder)
        self.stuff_decoder = PanopticMaskDecoder(embed_dims=embed_dims,
                                                 self_attn=True,
                                                 **stuff_decoder)
        self.cls_stuff_branches = nn.ModuleList(
            nn.Linear(embed_dims, 1)
            for _ in range(self.stuff_decoder.num_layers))
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.loss_iou = MODELS.build(loss_iou)
        self.loss_mask = MODELS.build(loss_mask)
        self.stuff_cls_factor = stuff_cls_factor
        self.box_matcher = PanopticMatcher(**box_matcher)
        self.mask_matcher = PanopticMatcher(**mask_matcher)
        self.sync_avg_factor = sync_avg_factor
        self.test_cfg = dict(max_per_img=100, mask_threshold=0.5,
                             score_threshold=0.1, overlap_threshold=0.4)
        self.test_cfg.update(test_cfg)

    def _reg_branch(self, num_fcs: int) -> nn.Sequential:
        layers: List[nn.Module] = []
        for _ in range(num_fcs):
            layers += [nn.Linear(self.embed_dims, self.embed_dims), nn.ReLU()]
        layers.append(nn.Linear(self.embed_dims, 4))
        return nn.Sequential(*layers)

    def init_weights(self) -> None:
        """UniAD's init: the transformer's (xavier, deformable attention),
        xavier mask decoders, the focal prior on the class biases, zero last
        box layers with ``log``-size bias -2 in the first one."""
        super().init_weights()
        bias = bias_init_with_prob(0.01)
        for branch in list(self.cls_branches) + list(self.cls_stuff_branches):
            nn.init.constant_(branch.bias, bias)
        for branch in self.reg_branches:
            nn.init.zeros_(branch[-1].weight)
            nn.init.zeros_(branch[-1].bias)
        nn.init.constant_(self.reg_branches[0][-1].bias[2:], -2.0)

    # ------------------------------------------------------------ forward
    def forward(self, bev: Tensor) -> Tuple[Dict[str, Tensor], Tensor]:
        """Location decoder outputs of every layer.

        Args:
            bev (Tensor): ``(B, C, H, W)`` BEV feature.

        Returns:
            tuple[dict, Tensor]: ``preds`` with ``cls_scores`` ``(L, B, Q,
            num_things)`` logits, ``bbox_preds`` ``(L, B, Q, 4)`` normalised
            ``(cx, cy, w, h)`` (x along W, y along H), ``reference``
            (logits of the last layer's input reference), ``memory`` /
            ``memory_pos`` ``(B, H*W, C)``, ``query`` / ``query_pos`` ``(B,
            Q, C)`` and ``bev_hw``; and the ``(B, Q, C)`` query feature.
        """
        out = self.transformer(bev, self.query_embedding.weight,
                               self.reg_branches)
        refs = layer_references(out['init_reference'], out['references'])
        cls_scores, bbox_preds = [], []
        for layer, hidden in enumerate(out['hidden']):
            cls_scores.append(self.cls_branches[layer](hidden))
            reg = self.reg_branches[layer](hidden)
            ref = refs[layer]
            if ref.shape[-1] == 4:
                reg = reg + ref
            else:
                reg = torch.cat([reg[..., :2] + ref, reg[..., 2:]], -1)
            bbox_preds.append(reg.sigmoid())
        query = out['hidden'][-1]
        preds = dict(cls_scores=torch.stack(cls_scores),
                     bbox_preds=torch.stack(bbox_preds), reference=refs[-1],
                     memory=out['memory'], memory_pos=out['memory_pos'],
                     query=query, query_pos=out['query_pos'],
                     bev_hw=tuple(bev.shape[-2:]))
        return preds, query

    def decode_masks(self, memory: Tensor, thing_query: Tensor
                     ) -> Tuple[Tensor, List[Tensor], Tensor, List[Tensor],
                                List[Tensor]]:
        """Thing and stuff masks on the BEV grid.

        Args:
            memory (Tensor): ``(B, H*W, C)``.
            thing_query (Tensor): ``(B, N, C)`` decoder queries.

        Returns:
            tuple: thing masks ``(B, N, H*W)`` and per layer, stuff masks
            ``(B, 1, H*W)`` and per layer, the stuff decoder's per-layer
            ``(B, 1, C)`` queries.
        """
        content, pos = self.stuff_query.weight.split(self.embed_dims, -1)
        batch = memory.shape[0]
        things, thing_layers, _ = self.thing_decoder(memory, thing_query)
        stuff, stuff_layers, stuff_queries = self.stuff_decoder(
            memory, content[None].expand(batch, -1, -1), pos[None])
        return things, thing_layers, stuff, stuff_layers, stuff_queries

    # --------------------------------------------------------------- loss
    def _check_target(self, target: Mapping, where: int
                      ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        instances, drivable = target['instances'], target['drivable']
        labels = instances.labels.long()
        masks, bboxes = instances.masks != 0, instances.bboxes
        num = len(labels)
        canvas = self.canvas_size
        if tuple(masks.shape) != (num, *canvas) or \
                tuple(bboxes.shape) != (num, 4) or \
                tuple(drivable.shape) != canvas:
            raise ValueError(
                f'UniADPanopticMapHead: target {where}: expected '
                f'gt_map_instances labels ({num},), masks ({num}, '
                f'{canvas[0]}, {canvas[1]}), bboxes ({num}, 4) and a '
                f'drivable mask {canvas}; got masks {tuple(masks.shape)}, '
                f'bboxes {tuple(bboxes.shape)}, drivable '
                f'{tuple(drivable.shape)} (set canvas_size to the map canvas)')
        if num and (labels.min() < 0 or labels.max() >= self.num_things):
            raise ValueError(
                f'UniADPanopticMapHead: target {where}: thing labels must be '
                f'in [0, {self.num_things}), got {labels.unique().tolist()}')
        return labels, bboxes.float(), masks, drivable != 0

    def _counts(self, counts: List[float]) -> List[float]:
        """GT counts averaged over processes (when syncing), at least 1."""
        values = torch.tensor(counts, dtype=torch.float32,
                              device=self.query_embedding.weight.device)
        if self.sync_avg_factor:
            all_reduce(values, op='mean')
        return values.clamp(min=1).tolist()

    def _box_losses(self, cls_scores: Tensor, bbox_preds: Tensor,
                    gts: list, matches: list, avg_factor: float
                    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Focal, L1 and GIoU losses of one layer (labeled samples)."""
        height, width = self.canvas_size
        factor = bbox_preds.new_tensor([width, height, width, height])
        labels = torch.full(cls_scores.shape[:2], self.num_things,
                            dtype=torch.long, device=cls_scores.device)
        targets = torch.zeros_like(bbox_preds)
        weights = torch.zeros_like(bbox_preds)
        for i, ((gt_labels, gt_bboxes, _, _), (rows, cols)) in enumerate(
                zip(gts, matches)):
            labels[i, rows] = gt_labels[cols]
            targets[i, rows] = bbox_xyxy_to_cxcywh(gt_bboxes[cols] / factor)
            weights[i, rows] = 1.0
        loss_cls = self.loss_cls(cls_scores.flatten(0, 1), labels.flatten(),
                                 avg_factor=avg_factor)
        boxes, targets, weights = (t.flatten(0, 1)
                                   for t in (bbox_preds, targets, weights))
        loss_iou = self.loss_iou(bbox_cxcywh_to_xyxy(boxes) * factor,
                                 bbox_cxcywh_to_xyxy(targets) * factor,
                                 weights, avg_factor=avg_factor)
        loss_bbox = self.loss_bbox(boxes, targets, weights,
                                   avg_factor=avg_factor)
        return loss_cls, loss_bbox, loss_iou

    def _dice(self, masks: Tensor, targets: Tensor, weights: Tensor,
              avg_factor: float) -> Tensor:
        """Mask loss on 2x bilinear upsampled masks."""
        if len(masks) == 0:
            return masks.sum() * 0.0
        masks = F.interpolate(masks[None], scale_factor=2.0, mode='bilinear',
                              align_corners=False)[0]
        targets = F.interpolate(targets[None].float(), size=masks.shape[-2:],
                                mode='bilinear', align_corners=False)[0]
        return self.loss_mask(masks, targets, weights, avg_factor=avg_factor)

    def loss(self, preds: Dict[str, Tensor],
             targets: Sequence[Optional[Mapping]]) -> Dict[str, Tensor]:
        """Losses over the labeled samples of the batch.

        Args:
            preds (dict): :meth:`forward` outputs of ``B`` samples.
            targets (Sequence[dict | None]): ``B`` entries, None for a
                sample without map labels (it reaches no loss); otherwise
                ``instances`` (InstanceData: ``labels`` ``(N,)`` in ``[0,
                num_things)``, ``masks`` ``(N, H, W)``, ``bboxes`` ``(N,
                4)`` pixel ``x1, y1, x2, y2`` on the canvas) and
                ``drivable`` ``(H, W)`` (see :meth:`target_of`).

        Returns:
            dict[str, Tensor]: see :meth:`loss_names`.
        """
        cls_all, box_all = preds['cls_scores'], preds['bbox_preds']
        if len(targets) != cls_all.shape[1]:
            raise ValueError(f'UniADPanopticMapHead: {cls_all.shape[1]} '
                             f'predictions but {len(targets)} targets')
        index = [b for b, target in enumerate(targets) if target is not None]
        if not index:
            return self.zero_loss(preds)
        gts = [self._check_target(targets[b], b) for b in index]
        sel = torch.as_tensor(index, device=cls_all.device)
        cls_all, box_all = cls_all[:, sel], box_all[:, sel]
        num_layers = len(cls_all)
        matches = [[
            self.box_matcher(cls_all[layer, i], box_all[layer, i], gt[0],
                             gt[1], self.canvas_size)
            for i, gt in enumerate(gts)
        ] for layer in range(num_layers)]
        counts = self._counts(
            [sum(len(rows) for rows, _ in layer) for layer in matches] +
            [len(index)])  # one drivable (stuff) element per sample
        num_things, num_stuff = counts[-2], counts[-1]
        things_ratio = num_things / (num_things + num_stuff)
        stuff_ratio = num_stuff / (num_things + num_stuff)

        losses = {}
        for layer in range(num_layers):
            loss_cls, loss_bbox, loss_iou = self._box_losses(
                cls_all[layer], box_all[layer], gts, matches[layer],
                counts[layer])
            suffix = '' if layer == num_layers - 1 else f'_d{layer}'
            losses[f'loss_map_cls{suffix}'] = loss_cls * things_ratio
            losses[f'loss_map_bbox{suffix}'] = loss_bbox * things_ratio
            losses[f'loss_map_iou{suffix}'] = loss_iou * things_ratio

        # The last layer's matched queries are the thing queries.
        query = preds['query'][sel]
        kept = [rows for rows, _ in matches[-1]]
        longest = max(len(rows) for rows in kept)
        thing_query = torch.stack([
            F.pad(query[i, rows], (0, 0, 0, longest - len(rows)))
            for i, rows in enumerate(kept)
        ])
        things, thing_layers, stuff, stuff_layers, stuff_queries = \
            self.decode_masks(preds['memory'][sel], thing_query)
        height, width = preds['bev_hw']
        mask_targets, mask_weights = [], []
        for i, (rows, (labels, bboxes, masks, _)) in enumerate(
                zip(kept, gts)):
            pred = things[i, :len(rows)].unflatten(-1, (height, width))
            hit, cols = self.mask_matcher(
                cls_all[-1, i, rows], box_all[-1, i, rows], labels, bboxes,
                self.canvas_size, pred, masks)
            target = masks.new_zeros((len(rows), *self.canvas_size))
            target[hit] = masks[cols]
            weight = pred.new_zeros(len(rows))
            weight[hit] = 1.0
            mask_targets.append(target)
            mask_weights.append(weight)
        mask_targets = torch.cat(mask_targets)
        mask_weights = torch.cat(mask_weights)

        def thing_masks(layer_masks: Tensor) -> Tensor:
            return torch.cat([
                layer_masks[i, :len(rows)] for i, rows in enumerate(kept)
            ]).unflatten(-1, (height, width))

        losses['loss_map_things'] = self._dice(
            thing_masks(things), mask_targets, mask_weights,
            num_things) * things_ratio
        for layer, layer_masks in enumerate(thing_layers):
            losses[f'loss_map_things_d{layer}'] = self._dice(
                thing_masks(layer_masks), mask_targets, mask_weights,
                num_things) * things_ratio

        drivable = torch.stack([gt[3] for gt in gts])
        stuff_weights = stuff.new_ones(len(index))
        # Focal targets: class 0 = drivable present, 1 = background.
        stuff_labels = torch.zeros(len(index), dtype=torch.long,
                                   device=stuff.device)
        losses['loss_map_stuff'] = self._dice(
            stuff.flatten(0, 1).unflatten(-1, (height, width)), drivable,
            stuff_weights, num_stuff) * stuff_ratio
        for layer, (layer_masks, layer_query) in enumerate(
                zip(stuff_layers, stuff_queries)):
            losses[f'loss_map_stuff_d{layer}'] = self._dice(
                layer_masks.flatten(0, 1).unflatten(-1, (height, width)),
                drivable, stuff_weights, num_stuff) * stuff_ratio
            logits = self.cls_stuff_branches[layer](layer_query.flatten(0, 1))
            losses[f'loss_map_stuff_cls_d{layer}'] = self.loss_cls(
                logits, stuff_labels, avg_factor=num_stuff) * \
                self.stuff_cls_factor * stuff_ratio
        return losses

    def loss_names(self) -> List[str]:
        """Keys of :meth:`loss` (UniAD's names in brackets): per location
        layer ``loss_map_{cls,bbox,iou}`` [``loss_{cls,bbox,iou}``] for the
        last, ``..._d{l}`` [``d{l}.loss_...``] for the others; thing masks
        ``loss_map_things`` [``loss_mask_things``] and per layer
        ``loss_map_things_d{l}`` [``d{l}.loss_mask_things_f``]; stuff masks
        ``loss_map_stuff`` [``loss_mask_stuff``], ``loss_map_stuff_d{l}``
        [``d{l}.loss_mask_stuff_f``] and ``loss_map_stuff_cls_d{l}``
        [``d{l}.loss_cls_stuff_f``]."""
        num_layers = self.transformer.decoder.num_layers
        names = []
        for layer in range(num_layers):
            suffix = '' if layer == num_layers - 1 else f'_d{layer}'
            names += [f'loss_map_{k}{suffix}' for k in ('cls', 'bbox', 'iou')]
        names.append('loss_map_things')
        names += [f'loss_map_things_d{layer}'
                  for layer in range(self.thing_decoder.num_layers)]
        names.append('loss_map_stuff')
        for layer in range(self.stuff_decoder.num_layers):
            names += [f'loss_map_stuff_d{layer}',
                      f'loss_map_stuff_cls_d{layer}']
        return names

    def zero_loss(self, preds: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Exact-zero losses (no labeled sample) with every parameter of the
        head in the graph (the mask decoders are not run without labels).

        Args:
            preds (dict): :meth:`forward` outputs.

        Returns:
            dict[str, Tensor]: the keys of :meth:`loss`, all zero.
        """
        # The same collective as loss(), so processes with and without map
        # labels stay in step.
        self._counts([0.0] * (self.transformer.decoder.num_layers + 1))
        zero = graph_zero(preds['cls_scores'], preds['bbox_preds'], self)
        return {name: zero if i == 0 else zero.clone()
                for i, name in enumerate(self.loss_names())}

    @staticmethod
    def target_of(sample) -> dict:
        """The loss target of a labeled data sample: its
        ``gt_map_instances`` and the drivable plane of ``gt_map.masks``."""
        return dict(instances=sample.gt_map_instances,
                    drivable=sample.gt_map.masks[3])

    # ---------------------------------------------------------- inference
    def panoptic(self, preds: Dict[str, Tensor]) -> List[Dict[str, Tensor]]:
        """UniAD's inference (``get_bboxes``) per sample.

        Args:
            preds (dict): :meth:`forward` outputs.

        Returns:
            list[dict]: per sample the :func:`merge_panoptic` fields plus
            ``mask_scores`` ``(k + 1, H, W)`` (the top-k thing masks and the
            drivable mask on the canvas, before the merge) and
            ``query_index`` ``(k,)``.
        """
        cls_scores, bbox_preds = preds['cls_scores'][-1], \
            preds['bbox_preds'][-1]
        picks = [top_things(c, b, self.test_cfg['max_per_img'],
                            self.canvas_size)
                 for c, b in zip(cls_scores, bbox_preds)]
        thing_query = torch.stack([
            q[index] for q, (index, _, _) in zip(preds['query'], picks)])
        things, _, stuff, _, _ = self.decode_masks(preds['memory'],
                                                   thing_query)
        masks = torch.cat([things, stuff], 1).unflatten(-1, preds['bev_hw'])
        masks = F.interpolate(masks, size=self.canvas_size, mode='bilinear',
                              align_corners=False)
        results = []
        for (index, boxes, labels), sample_masks in zip(picks, masks):
            result = merge_panoptic(
                sample_masks[:-1], sample_masks[-1], boxes, labels,
                self.num_things,
                mask_threshold=self.test_cfg['mask_threshold'],
                score_threshold=self.test_cfg['score_threshold'],
                overlap_threshold=self.test_cfg['overlap_threshold'])
            result.update(mask_scores=sample_masks, query_index=index)
            results.append(result)
        return results

    def predict(self, preds: Dict[str, Tensor]) -> Tensor:
        """Per-class BEV masks after the panoptic merge.

        Args:
            preds (dict): :meth:`forward` outputs.

        Returns:
            Tensor: ``(B, num_things + 1, H, W)`` float 0/1 masks on the
            canvas: the thing classes (divider, ped_crossing, contour) then
            drivable (what ``BEVMapIoUMetric`` scores).
        """
        return torch.stack([
            torch.cat([r['lanes'], r['drivable'][None]]).float()
            for r in self.panoptic(preds)
        ])
