"""What one rendered frame shows, gathered from a data sample.

:class:`FrameData` is the renderer's only input, so the test hook (live
predictions) and ``tools/visualize.py`` (predictions read back from disk)
draw exactly the same pictures.
"""
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

import numpy as np

from .bev_panel import as_list, boxes_array
from .camera_panel import to_rgb_uint8


@dataclass
class FrameData:
    """One frame's ground truth, predictions, images and poses.

    Attributes:
        token (str): sample token.
        scene_name (str): the scene (one GIF per scene).
        frame_idx (int): position in the scene.
        location (str): ``log.location`` (the city shown in the title).
        lidar2global (np.ndarray): 4x4 pose (trails live in the global
            frame).
        lidar2ego (np.ndarray, optional): 4x4; which way is forward.
        gt_map (np.ndarray, optional): ``(K, H, W)`` map GT.
        pred_map (np.ndarray, optional): ``(K, H, W)`` predicted
            probabilities (or masks).
        gt_boxes (np.ndarray): ``(N, >= 7)`` LiDAR GT boxes.
        gt_ids (list[int]): their instance ids (may be empty).
        pred_boxes (np.ndarray): ``(M, >= 7)`` LiDAR tracked boxes.
        track_ids (list[int]): their ``tracking_id``.
        scores (list[float]): their scores.
        images (list[np.ndarray]): ``(H, W, 3)`` RGB uint8 per camera.
        lidar2img (list[np.ndarray]): one matrix per image.
        img_paths (list[str]): image paths (camera names).
    """
    token: str
    scene_name: str
    frame_idx: int
    location: str
    lidar2global: np.ndarray
    lidar2ego: Optional[np.ndarray] = None
    gt_map: Optional[np.ndarray] = None
    pred_map: Optional[np.ndarray] = None
    gt_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 9)))
    gt_ids: List[int] = field(default_factory=list)
    pred_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 9)))
    track_ids: List[int] = field(default_factory=list)
    scores: List[float] = field(default_factory=list)
    images: List[np.ndarray] = field(default_factory=list)
    lidar2img: List[np.ndarray] = field(default_factory=list)
    img_paths: List[str] = field(default_factory=list)

    def keep_scores(self, threshold: float) -> 'FrameData':
        """Drops predicted boxes scoring below ``threshold`` (in place)."""
        if len(self.scores):
            keep = np.asarray(self.scores) >= threshold
            self.pred_boxes = self.pred_boxes[keep]
            self.track_ids = [t for t, k in zip(self.track_ids, keep) if k]
            self.scores = [s for s, k in zip(self.scores, keep) if k]
        return self


def _get(container: Any, key: str) -> Any:
    """``container.key`` or ``container[key]`` (samples may be dicts)."""
    if isinstance(container, dict):
        return container.get(key)
    return getattr(container, key, None)


def _masks(field_value: Any) -> Optional[np.ndarray]:
    masks = _get(field_value, 'masks')
    if masks is None:
        return None
    if hasattr(masks, 'detach'):
        masks = masks.detach().cpu().float().numpy()
    return np.asarray(masks)


def _metainfo(sample: Any) -> dict:
    return sample.metainfo if hasattr(sample, 'metainfo') else dict(sample)


def frame_from_sample(sample: Any,
                      images: Optional[Sequence] = None) -> FrameData:
    """Collects one frame from a track + map data sample.

    Args:
        sample (Det3DDataSample | dict): with the track + map metainfo
            (``token``, ``scene_name``, ``frame_idx``, ``location``,
            ``lidar2global``, ``lidar2ego``, ``lidar2img``, ``img_path``)
            and any of ``gt_instances_3d``, ``gt_map``, ``pred_track_3d``,
            ``pred_map``.
        images (Sequence, optional): the loaded camera images (``(N, 3,
            H, W)`` BGR as packed, or a list); None reads ``img_path``.

    Returns:
        FrameData: the frame.
    """
    meta = _metainfo(sample)
    token = meta.get('token', meta.get('sample_idx', '?'))
    if meta.get('lidar2global') is None:
        raise ValueError(f'frame {token}: the sample has no lidar2global '
                         f'metainfo (pack it with PackTrackMapInputs)')
    gt = _get(sample, 'gt_instances_3d')
    pred = _get(sample, 'pred_track_3d')
    frame = FrameData(
        token=str(token),
        scene_name=str(meta.get('scene_name') or meta.get('scene_token')
                       or 'scene'),
        frame_idx=int(meta.get('frame_idx') or 0),
        location=str(meta.get('location') or 'unknown location'),
        lidar2global=np.asarray(meta['lidar2global'], np.float64),
        lidar2ego=None if meta.get('lidar2ego') is None else np.asarray(
            meta['lidar2ego'], np.float64),
        gt_map=_masks(_get(sample, 'gt_map')),
        pred_map=_masks(_get(sample, 'pred_map')),
        lidar2img=[np.asarray(m, np.float64)
                   for m in meta.get('lidar2img') or []],
        img_paths=list(meta.get('img_path') or []))
    if gt is not None and _get(gt, 'bboxes_3d') is not None:
        frame.gt_boxes = boxes_array(_get(gt, 'bboxes_3d'))
        frame.gt_ids = [int(v) for v in as_list(_get(gt, 'instance_ids'))]
    if pred is not None and _get(pred, 'bboxes_3d') is not None:
        frame.pred_boxes = boxes_array(_get(pred, 'bboxes_3d'))
        frame.track_ids = [int(v) for v in as_list(_get(pred, 'track_ids'))]
        frame.scores = [float(v) for v in as_list(_get(pred, 'scores_3d'))]
        if len(frame.track_ids) != len(frame.pred_boxes):
            raise ValueError(f'frame {token}: pred_track_3d has '
                             f'{len(frame.pred_boxes)} boxes but '
                             f'{len(frame.track_ids)} track_ids')
    if images is None:
        images = [_read(path) for path in frame.img_paths]
    frame.images = [to_rgb_uint8(img) for img in images]
    return frame


def _read(path: str) -> np.ndarray:
    """An image file as ``(H, W, 3)`` BGR, like the pipeline loads it."""
    import mmcv
    image = mmcv.imread(path)
    if image is None:
        raise FileNotFoundError(f'camera image {path} cannot be read')
    return image
