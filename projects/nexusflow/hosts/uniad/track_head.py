"""UniAD-style track head: detection queries plus track queries carried
across the frames of a scene."""
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmdet.models.layers import inverse_sigmoid
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import reduce_mean
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmdet3d.registry import MODELS, TASK_UTILS
from mmdet3d.structures import LiDARInstance3DBoxes
from ...utils.graph import graph_zero
from .box_coder import (CODE_SIZE, decode_boxes, encode_boxes,
                        uniad_codes_to_lidar)
from .tracker import RuntimeTracker
from .uniad_track_decoder import UniADTrackDecoder

Outputs = Dict[str, object]


@MODELS.register_module()
class UniADTrackHead(BaseModule):
    """DETR-style 3D tracking head on a BEV feature (one sequence at a time).

    A frame's queries are the tracks carried from the previous frame
    followed by ``num_query`` fresh detection queries (and, with
    ``with_ego_query``, UniAD's ego query last). Queries are ``2C`` vectors
    (position, content) with a normalised 3D reference point. They are
    decoded by :class:`UniADTrackDecoder`, UniAD's track decoder with box
    refinement (its weight layout and computation; converted official
    weights reproduce UniAD's decoder outputs): ``num_layers`` layers read
    the BEV around the reference, and per-layer branches predict class
    logits and a box code whose centre refines the reference. The head
    turns UniAD's box code (mmdet3d 0.17 convention) into the code of
    :func:`~.box_coder.encode_boxes` with :func:`uniad_codes_to_lidar`.
    The ego query takes part in the decoder's self-attention; its outputs
    are returned under ``outputs['ego']``; in training it learns the ego
    box (class ``ego_label``), as UniAD's; it is never tracked.

    Training (UniAD's recipe; :meth:`targets`, :meth:`loss`,
    :meth:`carry`): a carried track keeps the GT instance it was matched to
    and is trained on it while that instance is present, as background
    once it has gone; the free queries are Hungarian-matched (focal class
    + L1 box costs) to the GT instances no track holds, on every decoder
    layer. Losses: focal classification and L1 box regression on every
    decoder layer, divided by the number of targets averaged over
    processes. A track is carried to the next frame while its box's IoU
    with its GT exceeds ``carry_iou_thresh``, minus a random
    ``random_drop`` share, plus ``fp_ratio`` false-positive queries per
    kept track. Inference: :class:`RuntimeTracker` gives birth to and ends
    tracks by score.

    Between frames (:meth:`next_tracks`, :meth:`propagate`) a kept track's
    query is refreshed by :class:`TrackQueryUpdate` (query interaction and a
    short memory) and its reference moves to its predicted centre,
    advanced by the predicted velocity and the ego motion.

    Args:
        num_classes (int): object classes. Defaults to 7.
        embed_dims (int): width C. Defaults to 256.
        num_query (int): fresh detection queries per frame. Defaults to 900.
        num_layers (int): decoder layers. Defaults to 6.
        num_heads (int): attention heads. Defaults to 8.
        num_points (int): BEV sampling points per head. Defaults to 4.
        ffn_dims (int): FFN hidden width. Defaults to 512.
        dropout (float): dropout rate. Defaults to 0.1.
        num_reg_fcs (int): hidden layers of the branches. Defaults to 2.
        with_ego_query (bool): add UniAD's ego (SDC) query. Defaults to
            False.
        past_steps (int): past steps of the trajectory branches (UniAD's
            ``past_traj_reg_branches``; stage 1 does not train them).
            Defaults to 4.
        fut_steps (int): future steps of the trajectory branches. Defaults
            to 4.
        pc_range (Sequence[float]): BEV extent ``[x_min, y_min, z_min,
            x_max, y_max, z_max]``; reference points are normalised to it.
        query_update (dict): config of the between-frame query update.
            Defaults to ``dict(type='TrackQueryUpdate', memory_len=4)``.
        code_weights (Sequence[float], optional): L1 weight per code
            dimension. Defaults to 1.0, with 0.2 for the velocity.
        loss_cls (dict): classification loss. Defaults to focal, weight 2.
        loss_bbox (dict): box loss. Defaults to L1, weight 0.25.
        assigner (dict): Hungarian assigner of the fresh queries.
        carry_iou_thresh (float): training: a track is carried while the
            nearest-BEV IoU of its box with its GT exceeds this. Defaults
            to 0.5 (UniAD).
        random_drop (float): training: probability of dropping a carried
            track. Defaults to 0.1 (UniAD).
        fp_ratio (float): training: probability, per carried track, of
            carrying a false-positive query too. Defaults to 0.3 (UniAD).
        ego_label (int): class of the ego box (car). Defaults to 0.
        score_thresh (float): inference score to start a track.
        filter_score_thresh (float): inference score to keep and report a
            track.
        miss_tolerance (int): frames below ``filter_score_thresh`` before a
            track ends.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 num_classes: int = 7,
                 embed_dims: int = 256,
                 num_query: int = 900,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 num_points: int = 4,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 num_reg_fcs: int = 2,
                 with_ego_query: bool = False,
                 past_steps: int = 4,
                 fut_steps: int = 4,
                 pc_range: Sequence[float] = (-51.2, -51.2, -5.0, 51.2, 51.2,
                                              3.0),
                 query_update: Optional[dict] = None,
                 code_weights: Optional[Sequence[float]] = None,
                 loss_cls: dict = dict(
                     type='mmdet.FocalLoss', use_sigmoid=True, gamma=2.0,
                     alpha=0.25, loss_weight=2.0),
                 loss_bbox: dict = dict(type='mmdet.L1Loss',
                                        loss_weight=0.25),
                 assigner: dict = dict(
                     type='mmdet.HungarianAssigner',
                     match_costs=[
                         dict(type='mmdet.FocalLossCost', weight=2.0),
                         dict(type='mmdet3d.Box3DL1Cost', weight=0.25)
                     ]),
                 carry_iou_thresh: float = 0.5,
                 random_drop: float = 0.1,
                 fp_ratio: float = 0.3,
                 ego_label: int = 0,
                 score_thresh: float = 0.4,
                 filter_score_thresh: float = 0.35,
                 miss_tolerance: int = 5,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(pc_range) != 6:
            raise ValueError(f'UniADTrackHead: pc_range must have 6 values, '
                             f'got {pc_range}')
        code_weights = [1.0] * 8 + [0.2, 0.2] if code_weights is None \
            else list(code_weights)
        if len(code_weights) != CODE_SIZE:
            raise ValueError(f'UniADTrackHead: code_weights needs '
                             f'{CODE_SIZE} values, got {len(code_weights)}')
        for name, value in (('random_drop', random_drop),
                            ('fp_ratio', fp_ratio)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'UniADTrackHead: {name} must be in [0, 1], '
                                 f'got {value}')
        if not 0 <= ego_label < num_classes:
            raise ValueError(f'UniADTrackHead: ego_label {ego_label} is not '
                             f'a class index (num_classes {num_classes})')
        self.num_classes = num_classes
        self.carry_iou_thresh = float(carry_iou_thresh)
        self.random_drop = float(random_drop)
        self.fp_ratio = float(fp_ratio)
        self.ego_label = int(ego_label)
        self.embed_dims = embed_dims
        self.num_query = num_query
        self.pc_range = tuple(float(v) for v in pc_range)
        self.tracker_cfg = dict(score_thresh=score_thresh,
                                filter_score_thresh=filter_score_thresh,
                                miss_tolerance=miss_tolerance)
        RuntimeTracker(**self.tracker_cfg)  # validates the thresholds
        self.register_buffer('code_weights', torch.tensor(code_weights),
                             persistent=False)
        self.with_ego_query = with_ego_query
        self.decoder = UniADTrackDecoder(
            num_layers=num_layers, num_query=num_query + int(with_ego_query),
            num_classes=num_classes, embed_dims=embed_dims,
            num_heads=num_heads, num_points=num_points, ffn_dims=ffn_dims,
            dropout=dropout, num_reg_fcs=num_reg_fcs, past_steps=past_steps,
            fut_steps=fut_steps, pc_range=pc_range)
        update_cfg = dict(type='TrackQueryUpdate', memory_len=4)
        update_cfg.update(query_update or {})
        update_cfg.update(embed_dims=embed_dims)
        self.query_update = MODELS.build(update_cfg)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.assigner = TASK_UTILS.build(assigner)

    @property
    def layers(self) -> nn.ModuleList:
        """The decoder layers."""
        return self.decoder.layers

    @property
    def query_embedding(self) -> nn.Embedding:
        """The learned queries (detection queries, then the ego query)."""
        return self.decoder.query_embedding

    # ------------------------------------------------------------ queries
    def new_tracker(self) -> RuntimeTracker:
        """A runtime tracker with this head's thresholds."""
        return RuntimeTracker(**self.tracker_cfg)

    def _queries(self, query: Tensor, ref: Tensor) -> InstanceData:
        num = len(query)
        memory, memory_pad = self.query_update.empty_memory(
            num, query.device)
        return InstanceData(
            query=query, ref=ref,
            obj_ids=torch.full((num, ), -1, dtype=torch.long,
                               device=query.device),
            misses=torch.zeros(num, dtype=torch.long, device=query.device),
            iou=query.new_zeros(num),
            save_period=torch.zeros(num, dtype=torch.long,
                                    device=query.device),
            memory=memory.to(query.dtype), memory_pad=memory_pad,
            codes=query.new_zeros(num, CODE_SIZE))

    def empty_tracks(self, device=None) -> InstanceData:
        """No tracks (the start of a scene).

        Args:
            device (torch.device, optional): device.

        Returns:
            InstanceData: zero tracks with every query field.
        """
        weight = self.query_embedding.weight
        return self._queries(
            weight.new_zeros(0, 2 * self.embed_dims, device=device),
            weight.new_zeros(0, 3, device=device))

    def fresh_queries(self) -> Tuple[InstanceData, Tensor]:
        """The ``num_query`` learned detection queries.

        Returns:
            tuple[InstanceData, Tensor]: the queries and their ``(num_query,
            3)`` reference logits (``ref`` is their sigmoid).
        """
        embeds, logits = self.decoder.empty_queries()
        embeds, logits = embeds[:self.num_query], logits[:self.num_query]
        return self._queries(embeds, logits.sigmoid()), logits

    def _normalize(self, centers: Tensor) -> Tensor:
        low = centers.new_tensor(self.pc_range[:3])
        high = centers.new_tensor(self.pc_range[3:])
        return ((centers - low) / (high - low)).clamp(1e-4, 1 - 1e-4)

    def propagate(self, tracks: InstanceData, prev2curr: Tensor,
                  dt: float) -> InstanceData:
        """Moves the tracks' reference points into the current frame.

        Each centre is advanced by its predicted velocity over ``dt`` and
        then transformed by the ego motion.

        Args:
            tracks (InstanceData): tracks of the previous frame.
            prev2curr (Tensor): ``(4, 4)`` previous-to-current LiDAR
                transform.
            dt (float): seconds between the frames.

        Returns:
            InstanceData: the tracks with updated ``ref`` (a new object).
        """
        moved = InstanceData(**dict(tracks.items()))
        if not len(tracks):
            return moved
        codes = tracks.codes
        centers = codes[:, :3] + torch.cat(
            [codes[:, 8:10] * float(dt), codes.new_zeros(len(codes), 1)],
            dim=1)
        transform = prev2curr.to(codes)
        centers = centers @ transform[:3, :3].T + transform[:3, 3]
        moved.ref = self._normalize(centers)
        return moved

    # ------------------------------------------------------------ forward
    def forward(self, bev: Tensor,
                tracks: InstanceData) -> Tuple[InstanceData, Outputs]:
        """Decodes one frame of one sequence.

        Args:
            bev (Tensor): ``(1, C, H, W)`` BEV feature of the frame.
            tracks (InstanceData): carried tracks (already propagated).

        Returns:
            tuple[InstanceData, dict]: the frame's queries (tracks, then
            fresh) and the outputs: ``cls_scores`` and ``box_codes`` (lists
            over layers of ``(Q, num_classes)`` logits and ``(Q, 10)``
            metric codes, :func:`encode_boxes` layout), ``traj_preds``
            (list over layers of ``(Q, past + fut, 2)``), ``hidden``
            ``(Q, C)`` (last layer), ``ref`` ``(Q, 3)`` (refined normalised
            reference, detached) and, with the ego query, ``ego`` (its
            ``cls_scores``, ``box_codes`` and ``hidden``, same layout with
            one row).
        """
        if bev.dim() != 4 or bev.shape[0] != 1 or \
                bev.shape[1] != self.embed_dims:
            raise ValueError(f'UniADTrackHead: bev must be (1, '
                             f'{self.embed_dims}, H, W), got '
                             f'{tuple(bev.shape)}')
        fresh, fresh_logits = self.fresh_queries()
        if len(tracks):
            instances = InstanceData.cat([tracks, fresh])
            logits = torch.cat([inverse_sigmoid(tracks.ref), fresh_logits])
        else:
            instances, logits = fresh, fresh_logits
        embeds, num = instances.query, len(instances)
        if self.with_ego_query:
            all_embeds, all_logits = self.decoder.empty_queries()
            embeds = torch.cat([embeds, all_embeds[self.num_query:]])
            logits = torch.cat([logits, all_logits[self.num_query:]])
        decoded = self.decoder(bev.flatten(2).transpose(1, 2), embeds,
                               logits, tuple(bev.shape[-2:]))
        scores = decoded['all_cls_scores'][:, 0]
        codes = uniad_codes_to_lidar(decoded['all_bbox_preds'][:, 0])
        hidden = decoded['query_feats'][-1, 0]
        outputs = dict(
            cls_scores=list(scores[:, :num].unbind(0)),
            box_codes=list(codes[:, :num].unbind(0)),
            traj_preds=list(
                decoded['all_past_traj_preds'][:, 0, :num].unbind(0)),
            hidden=hidden[:num], ref=decoded['all_ref_points'][-1, 0, :num])
        if self.with_ego_query:
            outputs['ego'] = dict(
                cls_scores=list(scores[:, num:].unbind(0)),
                box_codes=list(codes[:, num:].unbind(0)),
                hidden=hidden[num:])
        return instances, outputs

    def next_tracks(self, instances: InstanceData, outputs: Outputs,
                    keep: Tensor) -> InstanceData:
        """The tracks carried to the next frame.

        Args:
            instances (InstanceData): the frame's queries, with the final
                ``obj_ids`` / ``misses``.
            outputs (dict): :meth:`forward` outputs.
            keep (Tensor): ``(Q, )`` bool, the queries to carry.

        Returns:
            InstanceData: kept tracks with updated queries, memory,
            reference points and box codes.
        """
        kept = instances[keep]
        save = None  # training: every track saves to its memory
        if not self.training:
            scores = outputs['cls_scores'][-1][keep].detach().sigmoid()
            save, kept.save_period = self.query_update.save_mask(
                scores.max(-1)[0], kept.save_period)
        query, memory, memory_pad = self.query_update(
            kept.query, outputs['hidden'][keep], kept.memory,
            kept.memory_pad, save)
        kept.query = query
        kept.memory = memory
        kept.memory_pad = memory_pad
        kept.ref = outputs['ref'][keep]
        kept.codes = outputs['box_codes'][-1][keep].detach()
        return kept

    # --------------------------------------------------------------- loss
    @staticmethod
    def _gt_boxes(gt_instances: InstanceData, device) -> Tensor:
        boxes = gt_instances.bboxes_3d
        boxes = getattr(boxes, 'tensor', boxes)
        if boxes.dim() != 2 or boxes.shape[1] != 9:
            raise ValueError(
                f'UniADTrackHead: gt bboxes_3d must be (N, 9) boxes (x, y, '
                f'z_bottom, l, w, h, yaw, vx, vy; box_dim=9), got '
                f'{tuple(boxes.shape)}')
        return boxes.to(device=device, dtype=torch.float32)

    def _match_free(self, scores: Tensor, codes: Tensor, free: Tensor,
                    free_gt: Tensor, gt_labels: Tensor,
                    gt_codes: Tensor) -> Tensor:
        """Hungarian-matches the free queries of one layer to the GT no
        track holds; returns ``(Q, )`` GT index or ``-1``."""
        assigned = torch.full((len(scores), ), -1, dtype=torch.long,
                              device=scores.device)
        if not len(free_gt) or not len(free):
            return assigned
        scores, codes = scores[free].detach(), codes[free].detach()
        if not (torch.isfinite(scores).all() and torch.isfinite(codes).all()):
            raise ValueError(
                'UniADTrackHead: the predictions hold NaN or inf, so they '
                'cannot be matched to the GT; the training diverged (check '
                'the learning rate, gradient clipping and the backbone '
                'weights)')
        result = self.assigner.assign(
            InstanceData(scores=scores, bboxes=codes),
            InstanceData(labels=gt_labels[free_gt], bboxes=gt_codes[free_gt]))
        matched = result.gt_inds > 0
        assigned[free[matched]] = free_gt[result.gt_inds[matched] - 1]
        return assigned

    def targets(self, instances: InstanceData, outputs: Outputs,
                gt_instances: InstanceData,
                ego_box: Optional[Tensor] = None) -> Dict[str, object]:
        """Training targets of one labeled frame of one sequence (UniAD's
        clip matcher).

        A carried track keeps its GT instance while it is present and is
        background once it has gone (it keeps its id, and is still
        carried while its IoU gate holds). The free queries (fresh ones
        and carried false positives) are Hungarian-matched (focal class +
        L1 box costs) to the GT no track holds, separately on every decoder
        layer's predictions; the last layer's match starts new tracks.

        Args:
            instances (InstanceData): the frame's queries.
            outputs (dict): :meth:`forward` outputs.
            gt_instances (InstanceData): ``bboxes_3d`` (box_dim 9),
                ``labels_3d`` and ``instance_ids``; may be empty (an empty
                road is a labeled frame whose queries are all background).
            ego_box (Tensor, optional): ``(1, 9)`` ego box (see
                :func:`~.ego_motion.ego_gt_box`), the ego query's target
                labelled ``ego_label``; needed with the ego query.

        Returns:
            dict: per layer ``labels`` ``(Q, )`` (``num_classes`` =
            background) and ``gt_index`` ``(Q, )`` (``-1``: no box);
            ``gt_codes`` ``(N, 10)``; ``counts`` ``(L, 2)`` float, the
            classification and box targets of each layer (the ego query
            included); ``obj_ids`` ``(Q, )`` after this frame; ``ego_code``
            ``(1, 10)`` or None.
        """
        for key in ('bboxes_3d', 'labels_3d', 'instance_ids'):
            if key not in gt_instances:
                fields = list(gt_instances.keys())
                raise ValueError(f'UniADTrackHead: gt_instances_3d has no '
                                 f'{key!r} (fields: {fields}); pack samples '
                                 f'with PackTrackMapInputs')
        if self.with_ego_query and ego_box is None:
            raise ValueError('UniADTrackHead: with_ego_query needs the ego '
                             'box target (ego_box); the samples need the '
                             'metainfo lidar2ego and ego_velocity')
        device = instances.obj_ids.device
        gt_ids = gt_instances.instance_ids.to(device)
        gt_labels = gt_instances.labels_3d.to(device)
        gt_codes = encode_boxes(self._gt_boxes(gt_instances, device))
        tracked = instances.obj_ids >= 0
        same = (instances.obj_ids[:, None] == gt_ids[None]) & tracked[:, None]
        held = torch.full_like(instances.obj_ids, -1)
        if len(gt_ids):
            held = torch.where(same.any(1), same.float().argmax(1), held)
        free = (~tracked).nonzero().squeeze(1)
        free_gt = (~same.any(0)).nonzero().squeeze(1)
        num_ego = int(self.with_ego_query)
        layers, counts = [], []
        for scores, codes in zip(outputs['cls_scores'],
                                 outputs['box_codes']):
            new = self._match_free(scores, codes, free, free_gt, gt_labels,
                                   gt_codes)
            index = torch.where(tracked, held, new)
            labels = torch.full_like(index, self.num_classes)
            labels[index >= 0] = gt_labels[index[index >= 0]]
            layers.append(dict(labels=labels, gt_index=index))
            # UniAD counts every tracked query (gone ones too) and every new
            # match as a classification target, the boxes as box targets.
            counts.append([int(tracked.sum() + (new >= 0).sum()) + num_ego,
                           int((index >= 0).sum()) + num_ego])
        index = layers[-1]['gt_index']
        obj_ids = instances.obj_ids.clone()
        obj_ids[index >= 0] = gt_ids[index[index >= 0]]
        return dict(layers=layers, gt_codes=gt_codes,
                    counts=torch.tensor(counts, dtype=torch.float32,
                                        device=device),
                    obj_ids=obj_ids,
                    ego_code=None if ego_box is None else
                    encode_boxes(ego_box.to(device)))

    @staticmethod
    def normalizers(counts: Tensor) -> Tensor:
        """Loss normalisers: the targets per layer averaged over processes
        (UniAD's ``reduce_mean``), at least 1.

        Every process must call this once per frame, with zeros when it
        holds no labeled sample, so that the collective stays in step.

        Args:
            counts (Tensor): ``(L, 2)`` this process's target counts.

        Returns:
            Tensor: ``(L, 2)``.
        """
        return reduce_mean(counts).clamp(min=1.0)

    def loss(self, outputs: Outputs, targets: Dict[str, object],
             norms: Tensor) -> Dict[str, Tensor]:
        """Losses of one labeled frame of one sequence.

        Focal classification over all queries (plus the ego query) and L1
        box regression over the queries with a box target (plus the ego
        query), on every decoder layer, each divided by that layer's
        normaliser. Summing these over the sequences of a batch and over
        processes (DDP averages gradients) gives UniAD's per-target mean.

        Args:
            outputs (dict): :meth:`forward` outputs.
            targets (dict): :meth:`targets` of the frame.
            norms (Tensor): ``(L, 2)`` :meth:`normalizers`.

        Returns:
            dict[str, Tensor]: ``loss_track_cls`` / ``loss_track_bbox``
            (last layer) and ``d<i>.loss_track_*`` (earlier layers).
        """
        losses = {}
        num_layers = len(outputs['cls_scores'])
        ego = outputs.get('ego')
        for layer, (scores, codes, target) in enumerate(
                zip(outputs['cls_scores'], outputs['box_codes'],
                    targets['layers'])):
            labels, index = target['labels'], target['gt_index']
            positive = index >= 0
            pred_codes = codes[positive]
            goal_codes = targets['gt_codes'][index[positive]]
            if targets['ego_code'] is not None and ego is not None:
                scores = torch.cat([scores, ego['cls_scores'][layer]])
                labels = torch.cat([labels, labels.new_full(
                    (1, ), self.ego_label)])
                pred_codes = torch.cat([pred_codes, ego['box_codes'][layer]])
                goal_codes = torch.cat([goal_codes, targets['ego_code']])
            prefix = '' if layer == num_layers - 1 else f'd{layer}.'
            losses[f'{prefix}loss_track_cls'] = self.loss_cls(
                scores, labels, avg_factor=float(norms[layer, 0]))
            if not len(goal_codes):
                losses[f'{prefix}loss_track_bbox'] = graph_zero(codes)
            else:
                losses[f'{prefix}loss_track_bbox'] = self.loss_bbox(
                    pred_codes, goal_codes,
                    weight=self.code_weights.expand_as(goal_codes),
                    avg_factor=float(norms[layer, 1]))
        return losses

    def carry(self, instances: InstanceData, outputs: Outputs,
              targets: Dict[str, object],
              gt_instances: InstanceData) -> InstanceData:
        """The tracks a training frame carries to the next (UniAD's query
        interaction in training).

        A query holding a GT instance gets the nearest-BEV IoU of its
        last-layer box with that GT (others keep theirs). Tracks whose IoU
        exceeds ``carry_iou_thresh`` are carried, each dropped with
        probability ``random_drop``; for each kept track, with probability
        ``fp_ratio``, the best-scoring query without an instance is carried
        too, as a false positive (it stays free for matching).

        Args:
            instances (InstanceData): the frame's queries.
            outputs (dict): :meth:`forward` outputs.
            targets (dict): :meth:`targets` of the frame.
            gt_instances (InstanceData): the frame's GT.

        Returns:
            InstanceData: the carried tracks (see :meth:`next_tracks`).
        """
        instances.obj_ids = targets['obj_ids']
        index = targets['layers'][-1]['gt_index']
        active = (instances.obj_ids >= 0) & (index >= 0)
        iou = instances.iou.clone()
        if active.any():
            with torch.no_grad():
                pred = LiDARInstance3DBoxes(decode_boxes(
                    outputs['box_codes'][-1][active].detach().float()),
                                            box_dim=9)
                goal = LiDARInstance3DBoxes(
                    self._gt_boxes(gt_instances, iou.device)[index[active]],
                    box_dim=9)
                iou[active] = bbox_overlaps(pred.nearest_bev,
                                            goal.nearest_bev,
                                            is_aligned=True)
        instances.iou = iou
        keep = (instances.obj_ids >= 0) & (iou > self.carry_iou_thresh)
        if self.random_drop > 0:
            keep &= torch.rand(len(keep), device=keep.device) \
                >= self.random_drop
        num_fp = int(torch.bernoulli(torch.full(
            (int(keep.sum()), ), self.fp_ratio)).sum())
        candidates = (instances.obj_ids < 0).nonzero().squeeze(1)
        if num_fp and len(candidates):
            scores = outputs['cls_scores'][-1][candidates].detach().sigmoid()
            best = scores.max(-1)[0].argsort(descending=True)[:num_fp]
            keep[candidates[best]] = True
        return self.next_tracks(instances, outputs, keep)

    def zero_loss(self, outputs: Outputs) -> Dict[str, Tensor]:
        """Exact-zero losses for a frame where no sequence is labeled.

        The values are the outputs times 0, so the head (and everything
        before it) stays in the graph with zero gradients.

        Args:
            outputs (dict): :meth:`forward` outputs of any sequence.

        Returns:
            dict[str, Tensor]: the keys of :meth:`loss`, all zero.
        """
        losses = {}
        num_layers = len(outputs['cls_scores'])
        for layer, (scores, codes) in enumerate(
                zip(outputs['cls_scores'], outputs['box_codes'])):
            prefix = '' if layer == num_layers - 1 else f'd{layer}.'
            losses[f'{prefix}loss_track_cls'] = graph_zero(scores)
            losses[f'{prefix}loss_track_bbox'] = graph_zero(codes)
        return losses

    def parameter_tie(self) -> Tensor:
        """Zero that depends on every parameter of the head.

        Parameters used only between frames (the query update) take no part
        in a frame that carries no track; adding this exact zero to a loss
        gives them a zero gradient instead of none, as DDP without
        ``find_unused_parameters`` needs.

        Returns:
            Tensor: scalar ``0.0``.
        """
        return graph_zero(self)

    # ---------------------------------------------------------- inference
    def predict(self, instances: InstanceData, outputs: Outputs,
                tracker: RuntimeTracker
                ) -> Tuple[InstanceData, InstanceData]:
        """Tracks of one frame and the tracks to carry.

        Args:
            instances (InstanceData): the frame's queries (``obj_ids`` are
                track ids, ``-1`` for fresh queries).
            outputs (dict): :meth:`forward` outputs.
            tracker (RuntimeTracker): the scene's tracker.

        Returns:
            tuple[InstanceData, InstanceData]: the reported tracks
            (``bboxes_3d`` LiDARInstance3DBoxes box_dim 9, ``scores_3d``,
            ``labels_3d``, ``track_ids``) and the tracks to carry.
        """
        scores, labels = outputs['cls_scores'][-1].sigmoid().max(-1)
        ids, misses = tracker.update(scores, instances.obj_ids,
                                     instances.misses)
        report = (ids >= 0) & (scores >= tracker.filter_score_thresh)
        boxes = decode_boxes(outputs['box_codes'][-1][report])
        results = InstanceData(
            bboxes_3d=LiDARInstance3DBoxes(boxes, box_dim=9),
            scores_3d=scores[report], labels_3d=labels[report],
            track_ids=ids[report])
        instances.obj_ids = ids
        instances.misses = misses
        return results, self.next_tracks(instances, outputs, ids >= 0)
