"""UniAD-style track + map model on mmengine (stage 1 of UniAD)."""
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.structures import PixelData
from torch import Tensor

from mmdet3d.models.detectors import Base3DDetector
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample
from ...attach.task_mask import get_task_masks
from ...structures.can_bus import can_bus_delta
from .ego_motion import ego_gt_box, relative_pose
from .task_rasters import TrackMapRasters, panoptic_soft_masks

TASKS = ('track', 'map')


@MODELS.register_module()
class UniADTrackMap(Base3DDetector):
    """Multi-camera images -> BEV -> track head + map head.

    Per frame: image backbone and neck (FPN) on every camera, the
    BEVFormer-style encoder (temporal self-attention over the previous BEV
    of the same scene, aligned by ego motion, and spatial cross-attention
    into the cameras), an optional ``neck`` on the BEV, then
    :class:`UniADTrackHead` and a map head: UniAD's
    :class:`UniADPanopticMapHead` (full-size configs) or the light dense
    :class:`BEVMapHead` (tiny configs).

    Training takes clips (``imgs`` ``(B, T, N, 3, H, W)``, ``B`` lists of
    ``T`` samples from :class:`TrackMapDataPreprocessor`); frames run in
    order, the BEV and the track queries flow from frame to frame, and
    the track losses are summed over frames (UniAD), the map, regularizer
    and neck terms averaged over the frames ``map_frames`` picks.
    Supervision follows each sample's
    ``metainfo['task_mask']``: a task's loss averages over the samples
    labeled for it and never sees the others; a frame where no sample is
    labeled for a task gets exact zeros that keep that head in the graph.
    GT must be absent where a task is unlabeled (the domain-split wrapper
    strips it); a sample that still carries it is an error, not silently
    used.

    When a ``neck`` is configured (e.g. ``NexusFlowNeck``), the BEV passes
    through ``neck(bev)`` and, in training, ``neck.loss({'track': (queries,
    padding_mask), 'map': map_feature})`` is added per frame: the track
    head's last-layer query outputs ``(B, Q, C)`` and the map head's
    intermediate feature, the panoptic head's last decoder-layer queries
    ``(B, num_query, C)`` (a query set, no padding) or the dense head's
    ``(B, C', H, W)`` map. The host knows nothing else of the neck.

    Map heads: one with ``target_of(sample)`` (the panoptic head) gets one
    target per sample, None where the map is unlabeled, in a single
    ``loss`` call per frame, so its cross-process collective runs once per
    frame on every process whether or not it holds map labels; the others
    get the labeled samples' ``gt_map`` masks (``zero_loss`` without any).

    A ``regularizer`` (``MTPSLLoss`` or ``JTRLoss``, the dense
    partial-label baselines) sees both tasks on one BEV grid of
    ``regularizer_grid`` cells (see :class:`TrackMapRasters`): the track
    task as an object-centre heatmap of the queries weighted by their
    scores (GT: the labeled boxes' centres), the map task as its class
    probabilities (GT: the labeled masks): the dense head's sigmoid, or the
    panoptic head's differentiable soft masks
    (:func:`panoptic_soft_masks`); its shared feature is the BEV.

    Inference runs frames one at a time in dataset order, keeping the
    previous BEV, the carried tracks and the track id counter between
    calls; a new ``scene_token`` (or a gap in ``frame_idx``) starts over.
    Each data sample gets ``pred_track_3d`` (``bboxes_3d`` LiDAR box_dim 9,
    ``scores_3d``, ``labels_3d``, ``track_ids``) and ``pred_map``
    (``PixelData`` with float ``masks`` ``(4, H, W)`` on the map canvas,
    divider, ped_crossing, contour, drivable: the dense head's
    probabilities or the panoptic head's merged 0/1 masks; both are what
    ``BEVMapIoUMetric`` scores).

    Args:
        img_backbone (dict): image backbone (e.g. ``mmdet.ResNet``).
        img_neck (dict): image neck (e.g. ``mmdet.FPN``).
        bev_encoder (dict): :class:`BEVFormerEncoder` config (UniAD's; it
            gets each frame's CAN-bus vector as the change since the
            previous frame, from the samples' ``can_bus`` metainfo).
        track_head (dict): :class:`UniADTrackHead` config.
        map_head (dict): :class:`UniADPanopticMapHead` or
            :class:`BEVMapHead` config.
        neck (dict, optional): module between the BEV encoder and the
            heads; its ``forward(bev)`` must return the BEV and its
            ``loss(task_feats)`` a loss dict.
        regularizer (dict, optional): a dense partial-label regularizer
            called as ``regularizer(preds, targets, labeled, feats)``;
            ``tasks`` and ``mask_tasks`` are filled in.
        regularizer_grid (Sequence[int]): ``(H, W)`` of the grid the
            regularizer sees; divisible by its total pooling. Defaults to
            ``(200, 200)``.
        detach_prev_bev (bool): stop gradients through the previous frame's
            BEV (BEVFormer's choice; saves memory). Defaults to True.
        history (str): the previous BEV in training: ``'carry'`` (the
            previous frame's training BEV, detached by ``detach_prev_bev``)
            or ``'uniad'`` (UniAD's: the clip's earlier frames run again in
            eval mode without gradients, the first frame being its own
            previous frame; computed as one chain, T - 1 extra encoder
            passes per clip). Defaults to 'carry'.
        map_frames (str): frames of a training clip the map head, the
            regularizer and the neck's alignment run on: ``'last'``
            (UniAD's: the map head is trained on the clip's last frame
            only, which also saves its activations on the others) or
            ``'all'`` (averaged over frames). Defaults to 'all'.
        data_preprocessor (dict, optional): defaults to
            ``TrackMapDataPreprocessor``.
        train_cfg (dict, optional): unused, for config compatibility.
        test_cfg (dict, optional): unused, for config compatibility.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 img_backbone: dict,
                 img_neck: dict,
                 bev_encoder: dict,
                 track_head: dict,
                 map_head: dict,
                 neck: Optional[dict] = None,
                 regularizer: Optional[dict] = None,
                 regularizer_grid: Sequence[int] = (200, 200),
                 detach_prev_bev: bool = True,
                 history: str = 'carry',
                 map_frames: str = 'all',
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='TrackMapDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.img_backbone = MODELS.build(img_backbone)
        self.img_neck = MODELS.build(img_neck)
        self.bev_encoder = MODELS.build(bev_encoder)
        self.track_head = MODELS.build(track_head)
        self.map_head = MODELS.build(map_head)
        # The panoptic head takes per-sample targets (None = unlabeled).
        self.panoptic_map = callable(getattr(self.map_head, 'target_of',
                                             None))
        self.neck = MODELS.build(neck) if neck is not None else None
        tasks = getattr(self.neck, 'tasks', None)
        if tasks is not None and set(tasks) != set(TASKS):
            raise ValueError(f'UniADTrackMap: the neck has tasks '
                             f'{sorted(tasks)}; this model feeds it '
                             f'{sorted(TASKS)}')
        self.regularizer, self.rasters = None, None
        if regularizer is not None:
            self.rasters = TrackMapRasters(self.track_head.pc_range,
                                           regularizer_grid,
                                           self.map_head.num_classes)
            self.regularizer = MODELS.build(
                dict(regularizer, tasks=self.rasters.channels,
                     mask_tasks=list(TASKS)))
        if map_frames not in ('all', 'last'):
            raise ValueError(f"UniADTrackMap: map_frames must be 'all' or "
                             f"'last', got {map_frames!r}")
        self.map_frames = map_frames
        if history not in ('carry', 'uniad'):
            raise ValueError(f"UniADTrackMap: history must be 'carry' or "
                             f"'uniad', got {history!r}")
        self.history = history
        self.detach_prev_bev = detach_prev_bev
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self._test_state: Optional[dict] = None

    # ------------------------------------------------------------ helpers
    def extract_img_feat(self, imgs: Tensor,
                         backbone_feats: Optional[Sequence[Tensor]] = None
                         ) -> List[Tensor]:
        """Camera features of one frame.

        Args:
            imgs (Tensor): ``(B, N, 3, H, W)``.
            backbone_feats (Sequence[Tensor], optional): the backbone's
                outputs for ``imgs`` when already computed.

        Returns:
            list[Tensor]: per level ``(B, N, C, h, w)``.
        """
        if imgs.dim() != 5:
            raise ValueError(f'UniADTrackMap: images of a frame must be (B, '
                             f'N cameras, 3, H, W), got {tuple(imgs.shape)}')
        batch, num_cams = imgs.shape[:2]
        if backbone_feats is None:
            backbone_feats = self.img_backbone(imgs.flatten(0, 1))
        feats = self.img_neck(backbone_feats)
        return [f.view(batch, num_cams, *f.shape[1:]) for f in feats]

    def frozen_backbone(self) -> bool:
        """Whether the image backbone is a fixed function now: no trainable
        parameter and no normalization or dropout in training mode (UniAD
        stage 1's frozen ResNet with ``norm_eval``)."""
        if any(p.requires_grad for p in self.img_backbone.parameters()):
            return False
        mode_dependent = (torch.nn.modules.batchnorm._NormBase,
                          torch.nn.modules.dropout._DropoutNd)
        return not any(m.training for m in self.img_backbone.modules()
                       if isinstance(m, mode_dependent))

    def extract_feat(self, batch_inputs: dict) -> List[Tensor]:
        """Camera features of single frames.

        Args:
            batch_inputs (dict): ``imgs`` ``(B, N, 3, H, W)``.

        Returns:
            list[Tensor]: per level ``(B, N, C, h, w)``.
        """
        return self.extract_img_feat(batch_inputs['imgs'])

    def _frame_meta(self, samples: Sequence[Det3DDataSample], num_cams: int,
                    device) -> Dict[str, object]:
        """Camera and pose tensors of one frame of each sequence and the
        absolute CAN-bus vectors ``(B, 18)`` float64."""
        lidar2img, lidar2global, times, can_bus = [], [], [], []
        keys = ('lidar2img', 'lidar2global', 'can_bus')
        for sample in samples:
            meta = sample.metainfo
            for key in keys:
                if key not in meta:
                    raise ValueError(
                        f'UniADTrackMap: sample {meta.get("token", "?")} has '
                        f'no metainfo {key!r}; load it with '
                        f'NuScenesTrackMapDataset and pack it with '
                        f'PackTrackMapInputs')
            can_bus.append(np.asarray(meta['can_bus'], dtype=np.float64))
            mats = np.asarray(meta['lidar2img'], dtype=np.float64)
            if mats.shape != (num_cams, 4, 4):
                raise ValueError(
                    f'UniADTrackMap: sample {meta.get("token", "?")} has '
                    f'lidar2img of shape {mats.shape}; expected '
                    f'({num_cams}, 4, 4), one per camera image')
            lidar2img.append(mats)
            lidar2global.append(np.asarray(meta['lidar2global'],
                                           dtype=np.float64))
            times.append(float(meta.get('timestamp', 0.0)))
        return dict(
            lidar2img=torch.as_tensor(np.stack(lidar2img), device=device,
                                      dtype=torch.float32),
            lidar2global=torch.as_tensor(np.stack(lidar2global),
                                         device=device),
            timestamp=times,
            can_bus=np.stack(can_bus))

    def _bev(self, imgs: Tensor, meta: dict, prev: Optional[dict],
             backbone_feats: Optional[Sequence[Tensor]] = None
             ) -> Tuple[Tensor, Optional[Tensor]]:
        """BEV of one frame and the ego motion from the previous one."""
        feats = self.extract_img_feat(imgs, backbone_feats)
        prev_bev, prev2curr = None, None
        if prev is not None:
            prev_bev = prev['bev']
            prev2curr = relative_pose(prev['lidar2global'],
                                      meta['lidar2global'])
        # BEVFormer: translation and yaw since the previous frame of the
        # sequence, zero at its first frame.
        before = [None] * len(meta['can_bus']) if prev is None \
            else prev['can_bus']
        can_bus = np.stack([can_bus_delta(curr, last)
                            for curr, last in zip(meta['can_bus'], before)])
        bev = self.bev_encoder(feats, meta['lidar2img'],
                               tuple(imgs.shape[-2:]), prev_bev=prev_bev,
                               can_bus=can_bus)
        if self.neck is not None:
            bev = self.neck(bev)
        return bev, prev2curr

    def _history_bev(self, imgs: Tensor, meta: dict, prev: Optional[dict],
                     backbone_feats: Optional[Sequence[Tensor]] = None
                     ) -> Tensor:
        """A frame's BEV in eval mode without gradients (UniAD's history)."""
        parts = [self.img_backbone, self.img_neck, self.bev_encoder]
        modes = [part.training for part in parts]
        for part in parts:
            part.train(False)
        try:
            with torch.no_grad():
                return self._bev(imgs, meta, prev, backbone_feats)[0]
        finally:
            for part, mode in zip(parts, modes):
                part.train(mode)

    @staticmethod
    def _check_unlabeled_gt(samples: Sequence[Det3DDataSample],
                            masks: Sequence[Dict[str, bool]]) -> None:
        """Raises if a sample holds GT of a task it is unlabeled for, or
        lacks the map GT of a labeled map task."""
        for sample, mask in zip(samples, masks):
            meta = sample.metainfo
            where = (f'sample {meta.get("token", "?")} '
                     f'({meta.get("location", "unknown location")})')
            gt = sample.get('gt_instances_3d')
            num_boxes = len(gt) if gt is not None else 0
            if not mask['track'] and num_boxes:
                raise ValueError(
                    f'UniADTrackMap: {where} has task_mask track=False but '
                    f'carries {num_boxes} GT boxes; unlabeled GT must be '
                    f'stripped by the dataset (NuScenesDomainSplitDataset) '
                    f'and must never reach the track loss')
            has_map = sample.get('gt_map') is not None
            carried = [key for key in ('gt_map', 'gt_map_instances')
                       if sample.get(key) is not None]
            if not mask['map'] and carried:
                raise ValueError(
                    f'UniADTrackMap: {where} has task_mask map=False but '
                    f'carries {" and ".join(carried)}; unlabeled GT must be '
                    f'stripped by the dataset (NuScenesDomainSplitDataset) '
                    f'and must never reach the map loss')
            if mask['map'] and not has_map:
                raise ValueError(
                    f'UniADTrackMap: {where} is labeled for map but has no '
                    f'gt_map; load it with LoadTrackMapAnnotations and pack '
                    f'with PackTrackMapInputs')

    @staticmethod
    def _as_clips(batch_inputs: dict, batch_data_samples: list
                  ) -> Tuple[Tensor, List[List[Det3DDataSample]]]:
        imgs = batch_inputs.get('imgs')
        if imgs is None:
            raise ValueError(f'UniADTrackMap: inputs have no "imgs" (keys: '
                             f'{sorted(batch_inputs)}); load the cameras with '
                             f'LoadMultiViewImageFromFiles')
        if imgs.dim() == 5:  # single frames
            return imgs[:, None], [[s] for s in batch_data_samples]
        if imgs.dim() != 6 or len(batch_data_samples) != imgs.shape[0] or \
                any(len(c) != imgs.shape[1] for c in batch_data_samples):
            raise ValueError(
                f'UniADTrackMap: expected imgs (B, T, N, 3, H, W) with B '
                f'lists of T data samples, got imgs {tuple(imgs.shape)}')
        return imgs, batch_data_samples

    # --------------------------------------------------------------- loss
    def loss(self, batch_inputs: dict,
             batch_data_samples: list) -> Dict[str, Tensor]:
        """Losses of a batch of clips.

        Args:
            batch_inputs (dict): ``imgs`` ``(B, T, N, 3, H, W)`` (or ``(B,
                N, 3, H, W)`` for single frames).
            batch_data_samples (list): ``B`` lists of ``T``
                ``Det3DDataSample`` (or ``B`` samples).

        Returns:
            dict[str, Tensor]: track losses summed over frames, map (and
            neck) losses averaged over the ``map_frames``.
        """
        imgs, clips = self._as_clips(batch_inputs, batch_data_samples)
        batch, num_frames, num_cams = imgs.shape[:3]
        device = imgs.device
        tracks = [self.track_head.empty_tracks(device) for _ in range(batch)]
        prev, map_frames, metas, chain = None, 0, [], None
        totals: Dict[str, Tensor] = {}
        # A frozen backbone gives a frame's history pass and training pass
        # the same features: compute them once (UniAD runs it twice).
        reuse = self.history == 'uniad' and self.frozen_backbone()
        backbone_cache: Dict[int, Sequence[Tensor]] = {}

        def backbone(t: int) -> Optional[Sequence[Tensor]]:
            if not reuse:
                return None
            if t not in backbone_cache:
                with torch.no_grad():
                    backbone_cache[t] = self.img_backbone(
                        imgs[:, t].flatten(0, 1))
            return backbone_cache[t]

        for t in range(num_frames):
            samples = [clip[t] for clip in clips]
            masks = get_task_masks(samples, TASKS)
            self._check_unlabeled_gt(samples, masks)
            meta = self._frame_meta(samples, num_cams, device)
            metas.append(meta)
            if self.history == 'uniad':
                # UniAD's previous BEV: the clip's earlier frames run again in
                # eval mode without gradients; the first frame is its own.
                if t == 0:
                    chain = self._history_bev(imgs[:, 0], meta, None,
                                              backbone(0))
                elif t >= 2:
                    chain = self._history_bev(
                        imgs[:, t - 1], metas[t - 1],
                        _prev_state(chain, metas[t - 2]), backbone(t - 1))
                prev = _prev_state(chain, metas[max(t - 1, 0)])
                for done in [k for k in backbone_cache if k < t]:
                    del backbone_cache[done]
            bev, prev2curr = self._bev(imgs[:, t], meta, prev, backbone(t))
            losses, track_feat, tracks, track_outs = self._track_losses(
                bev, samples, masks, tracks, prev2curr, meta, prev)
            track_keys = set(losses)
            if self.map_frames == 'all' or t == num_frames - 1:
                map_frames += 1
                map_losses, map_feat, map_preds = self._map_losses(
                    bev, samples, masks)
                losses.update(map_losses)
                if self.regularizer is not None:
                    losses.update(self._regularizer_losses(
                        bev, samples, masks, track_outs, map_preds))
                if self.neck is not None:
                    losses.update(self.neck.loss(dict(track=track_feat,
                                                      map=map_feat)))
            for key, value in losses.items():
                totals[key] = totals[key] + value if key in totals else value
            prev = _prev_state(
                bev.detach() if self.detach_prev_bev else bev, meta)
        # UniAD sums the track losses over the clip's frames; the other
        # terms are per-frame means.
        return {key: value if key in track_keys else value / map_frames
                for key, value in totals.items()}

    def _track_losses(self, bev: Tensor, samples: list, masks: list,
                      tracks: list, prev2curr: Optional[Tensor], meta: dict,
                      prev: Optional[dict]) -> tuple:
        """Track losses of one frame, the query feature for the neck, the
        tracks to carry and each sample's head outputs."""
        head, frame = self.track_head, []
        for b, sample in enumerate(samples):
            carried = tracks[b]
            if prev2curr is not None:
                dt = meta['timestamp'][b] - prev['timestamp'][b]
                carried = head.propagate(carried, prev2curr[b], dt)
            instances, outputs = head(bev[b:b + 1], carried)
            targets = None
            if masks[b]['track']:
                targets = head.targets(instances, outputs,
                                       sample.gt_instances_3d,
                                       self._ego_box(sample, bev.device))
            frame.append((instances, outputs, targets))
        num_layers = len(frame[0][1]['cls_scores'])
        counts = bev.new_zeros(num_layers, 2)
        for _, _, targets in frame:
            if targets is not None:
                counts = counts + targets['counts']
        # Collective: every process runs it once per frame, labeled or not.
        norms = head.normalizers(counts)
        labeled, next_tracks = [], []
        for (instances, outputs, targets), sample in zip(frame, samples):
            if targets is None:
                # No labels: nothing to assign, so nothing is carried.
                next_tracks.append(head.empty_tracks(bev.device))
                continue
            labeled.append(head.loss(outputs, targets, norms))
            next_tracks.append(head.carry(instances, outputs, targets,
                                          sample.gt_instances_3d))
        if labeled:
            losses = {key: sum(item[key] for item in labeled)
                      for key in labeled[0]}
        else:
            losses = head.zero_loss(frame[0][1])
        losses['loss_track_cls'] = losses['loss_track_cls'] + \
            head.parameter_tie()
        per_sample = [outputs for _, outputs, _ in frame]
        hidden = [outputs['hidden'] for outputs in per_sample]
        return losses, _pad_queries(hidden), next_tracks, per_sample

    def _ego_box(self, sample: Det3DDataSample,
                 device) -> Optional[Tensor]:
        """UniAD's ego-box target of a sample (None without ego query)."""
        if not self.track_head.with_ego_query:
            return None
        meta = sample.metainfo
        for key in ('lidar2ego', 'ego_velocity'):
            if key not in meta:
                raise ValueError(
                    f'UniADTrackMap: sample {meta.get("token", "?")} has no '
                    f'metainfo {key!r}, which the ego query\'s target needs; '
                    f'load it with NuScenesTrackMapDataset and pack it with '
                    f'PackTrackMapInputs')
        return ego_gt_box(torch.as_tensor(np.asarray(meta['lidar2ego'])),
                          torch.as_tensor(np.asarray(meta['ego_velocity']))
                          ).to(device)

    def _map_losses(self, bev: Tensor, samples: list, masks: list
                    ) -> Tuple[Dict[str, Tensor], Tensor, object]:
        """Map losses of one frame, the map feature for the neck and the
        head's outputs."""
        preds, feat = self.map_head(bev)
        if self.panoptic_map:
            # One loss call per frame, labeled or not: it holds the head's
            # collective (GT counts averaged over processes).
            targets = [self._panoptic_target(sample, bev.device)
                       if mask['map'] else None
                       for sample, mask in zip(samples, masks)]
            return self.map_head.loss(preds, targets), feat, preds
        index = [b for b, mask in enumerate(masks) if mask['map']]
        if not index:
            return self.map_head.zero_loss(preds), feat, preds
        gt_masks = [samples[b].gt_map.masks for b in index]
        return self.map_head.loss(preds[index], gt_masks), feat, preds

    def _panoptic_target(self, sample: Det3DDataSample, device) -> dict:
        """The panoptic head's target of a map-labeled sample."""
        if sample.get('gt_map_instances') is None:
            meta = sample.metainfo
            raise ValueError(
                f'UniADTrackMap: sample {meta.get("token", "?")} is labeled '
                f'for map but has no gt_map_instances, which '
                f'{type(self.map_head).__name__} trains on; load them with '
                f'LoadTrackMapAnnotations(with_map_instances=True) and pack '
                f'with PackTrackMapInputs')
        target = self.map_head.target_of(sample)
        return dict(instances=target['instances'].to(device),
                    drivable=target['drivable'].to(device))

    def _map_probabilities(self, preds) -> Tensor:
        """Differentiable ``(B, K, h, w)`` class probabilities of the map
        head's outputs (the regularizers' map prediction)."""
        if self.panoptic_map:
            return panoptic_soft_masks(self.map_head, preds)
        return preds.sigmoid()

    def _regularizer_losses(self, bev: Tensor, samples: list, masks: list,
                            track_outs: List[dict],
                            map_preds) -> Dict[str, Tensor]:
        """The regularizer's terms of one frame, on the common BEV grid."""
        rasters, device = self.rasters, bev.device
        track_preds, track_targets = [], []
        for outputs, sample, mask in zip(track_outs, samples, masks):
            track_preds.append(rasters.track_prediction(
                outputs['box_codes'][-1], outputs['cls_scores'][-1]))
            gt = sample.get('gt_instances_3d') if mask['track'] else None
            boxes = None if gt is None else getattr(gt.bboxes_3d, 'tensor',
                                                    gt.bboxes_3d)
            track_targets.append(rasters.track_target(boxes, device))
        map_targets = [s.gt_map.masks if m['map'] else None
                       for s, m in zip(samples, masks)]
        preds, targets, labeled = rasters.build(
            track_preds, track_targets, self._map_probabilities(map_preds),
            map_targets,
            [m['track'] for m in masks], [m['map'] for m in masks])
        return self.regularizer(preds, targets, labeled,
                                dict(track=bev, map=bev))

    # ---------------------------------------------------------- inference
    def predict(self, batch_inputs: dict,
                batch_data_samples: list) -> List[Det3DDataSample]:
        """Tracks and map of each frame, in order.

        Args:
            batch_inputs (dict): ``imgs`` ``(B, N, 3, H, W)``.
            batch_data_samples (list[Det3DDataSample]): ``B`` consecutive
                frames (or clips, which are flattened in time order).

        Returns:
            list[Det3DDataSample]: the samples with ``pred_track_3d`` and
            ``pred_map``.
        """
        imgs, clips = self._as_clips(batch_inputs, batch_data_samples)
        frames = [(imgs[b, t:t + 1], clip[t]) for b, clip in enumerate(clips)
                  for t in range(len(clip))]
        for frame_imgs, sample in frames:
            self._predict_frame(frame_imgs, sample)
        return [sample for _, sample in frames]

    def _predict_frame(self, imgs: Tensor, sample: Det3DDataSample) -> None:
        meta_info = sample.metainfo
        state = self._test_state
        scene, frame = meta_info.get('scene_token'), meta_info.get(
            'frame_idx')
        if state is None or scene is None or state['scene'] != scene or (
                frame is not None and state['frame'] is not None
                and frame != state['frame'] + 1):
            if state is not None and scene is not None and \
                    state['scene'] == scene:
                print_log(f'UniADTrackMap: frame {frame} of scene {scene} '
                          f'follows frame {state["frame"]}; tracking '
                          f'restarts (test in dataset order, one sequence '
                          f'per process)', logger='current',
                          level=logging.WARNING)
            state = dict(scene=scene, frame=None, prev=None,
                         tracks=self.track_head.empty_tracks(imgs.device),
                         tracker=self.track_head.new_tracker())
        meta = self._frame_meta([sample], imgs.shape[1], imgs.device)
        bev, prev2curr = self._bev(imgs, meta, state['prev'])
        tracks = state['tracks']
        if prev2curr is not None:
            dt = meta['timestamp'][0] - state['prev']['timestamp'][0]
            tracks = self.track_head.propagate(tracks, prev2curr[0], dt)
        instances, outputs = self.track_head(bev, tracks)
        results, tracks = self.track_head.predict(instances, outputs,
                                                  state['tracker'])
        map_preds, _ = self.map_head(bev)
        sample.pred_track_3d = results
        # Both heads give (B, 4, H, W) float masks on the canvas.
        sample.pred_map = PixelData(
            masks=self.map_head.predict(map_preds)[0])
        state.update(frame=frame, tracks=tracks, prev=_prev_state(bev, meta))
        self._test_state = state

    def reset_sequence(self) -> None:
        """Forgets the test-time state (previous BEV, tracks, ids)."""
        self._test_state = None

    def _forward(self, batch_inputs: dict,
                 batch_data_samples: Optional[list] = None) -> Tensor:
        """BEV features of single frames, without temporal context.

        Args:
            batch_inputs (dict): ``imgs`` ``(B, N, 3, H, W)``.
            batch_data_samples (list[Det3DDataSample]): their samples.

        Returns:
            Tensor: ``(B, C, H, W)``.
        """
        imgs = batch_inputs['imgs']
        meta = self._frame_meta(batch_data_samples, imgs.shape[1],
                                imgs.device)
        return self._bev(imgs, meta, None)[0]

    def forward(self, inputs: dict, data_samples: Optional[list] = None,
                mode: str = 'tensor', **kwargs):
        """Dispatches to :meth:`loss`, :meth:`predict` or :meth:`_forward`
        (clips go to :meth:`predict` too, not to test-time augmentation).
        """
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        return super().forward(inputs, data_samples, mode=mode, **kwargs)

    def train(self, mode: bool = True) -> 'UniADTrackMap':
        """Switching modes forgets the test-time sequence state."""
        self._test_state = None
        return super().train(mode)


def _prev_state(bev: Tensor, meta: dict) -> dict:
    """What the next frame needs of a frame: its BEV and poses."""
    return dict(bev=bev, lidar2global=meta['lidar2global'],
                timestamp=meta['timestamp'], can_bus=meta['can_bus'])


def _pad_queries(hidden: List[Tensor]) -> Tuple[Tensor, Tensor]:
    """Pads per-sequence query sets to ``(B, Q_max, C)`` plus a ``(B,
    Q_max)`` padding mask (True = padding)."""
    longest = max(len(h) for h in hidden)
    padded = hidden[0].new_zeros(len(hidden), longest, hidden[0].shape[1])
    pad = torch.ones(len(hidden), longest, dtype=torch.bool,
                     device=hidden[0].device)
    for b, h in enumerate(hidden):
        padded[b, :len(h)] = h
        pad[b, :len(h)] = False
    return padded, pad
