"""Predictions saved by a test run, read back for rendering later.

* Tracks: the devkit result json that ``NuScenesTrackingMetric`` writes
  (``<jsonfile_prefix>/results_nusc_tracking.json``: global-frame boxes
  per sample token), turned back into LiDAR boxes with each frame's pose.
* Map: one ``<token>.npz`` per frame with the ``(K, H, W)`` probabilities
  as uint8 (value / 255), written by ``TrackMapVisualizationHook``.
"""
import json
import os
import os.path as osp
import zlib
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..evaluation.nuscenes_boxes import global_boxes_to_lidar

TRACKING_JSON = 'results_nusc_tracking.json'
MAP_DIR = 'map_preds'


def save_map_prediction(folder: str, token: str, masks) -> str:
    """Writes one frame's map prediction.

    Args:
        folder (str): the folder (created when missing).
        token (str): the sample token (the file name).
        masks (Tensor | np.ndarray): ``(K, H, W)`` probabilities in [0, 1]
            or binary masks.

    Returns:
        str: the ``.npz`` path.
    """
    if hasattr(masks, 'detach'):
        masks = masks.detach().cpu().float().numpy()
    masks = np.asarray(masks, dtype=np.float32)
    if masks.ndim != 3:
        raise ValueError(f'map prediction of {token}: expected (K, H, W), '
                         f'got shape {masks.shape}')
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, f'{token}.npz')
    probs = np.round(np.clip(masks, 0, 1) * 255).astype(np.uint8)
    np.savez_compressed(path, probs=probs)
    return path


def load_map_prediction(folder: Optional[str],
                        token: str) -> Optional[np.ndarray]:
    """One frame's map prediction, or None when none was saved.

    Args:
        folder (str, optional): the folder of ``<token>.npz`` files.
        token (str): the sample token.

    Returns:
        np.ndarray | None: ``(K, H, W)`` float32 in [0, 1].
    """
    if folder is None:
        return None
    path = osp.join(folder, f'{token}.npz')
    if not osp.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive['probs'].astype(np.float32) / 255
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f'{path}: not a map prediction written by '
                         f'TrackMapVisualizationHook (expected an .npz with '
                         f'"probs"): {err}') from None


def load_tracking_results(path: str) -> Dict[str, List[dict]]:
    """The ``results`` of a devkit tracking result json.

    Args:
        path (str): ``results_nusc_tracking.json``.

    Returns:
        dict[str, list[dict]]: ``{sample_token: [box, ...]}``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'tracking results {path} do not exist; '
                                f'tools/test.py --show-dir DIR writes them '
                                f'to DIR/{TRACKING_JSON}')
    try:
        with open(path) as f:
            content = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: not a json file ({err})') from None
    results = content.get('results') if isinstance(content, dict) else None
    if not isinstance(results, dict):
        raise ValueError(f'{path}: expected a nuScenes tracking result json '
                         f'with a "results" object {{sample_token: [box, '
                         f'...]}}')
    keys = ('translation', 'size', 'rotation', 'tracking_id',
            'tracking_score')
    for token, boxes in results.items():
        for box in boxes:
            missing = [k for k in keys if k not in box]
            if missing:
                raise ValueError(f'{path}: a box of sample {token} has no '
                                 f'{missing}')
    return results


def track_id_number(tracking_id) -> int:
    """The tracker's integer id (a devkit id is a string; one that is not a
    number gets a stable number of its own, so its colour is stable)."""
    try:
        return int(tracking_id)
    except (TypeError, ValueError):
        return zlib.crc32(str(tracking_id).encode()) & 0x7FFFFFFF


def tracks_in_lidar(boxes: List[dict], lidar2global: np.ndarray
                    ) -> Tuple[np.ndarray, List[int], List[float]]:
    """Devkit boxes of one sample as LiDAR boxes.

    Args:
        boxes (list[dict]): the sample's entries of the result json.
        lidar2global (np.ndarray): 4x4 pose of the sample.

    Returns:
        tuple: ``(N, 9)`` LiDAR boxes, track ids, scores.
    """
    if not boxes:
        return np.zeros((0, 9)), [], []
    lidar = global_boxes_to_lidar(
        [b['translation'] for b in boxes], [b['size'] for b in boxes],
        [b['rotation'] for b in boxes],
        [b.get('velocity', [0.0, 0.0]) for b in boxes], lidar2global)
    return (lidar, [track_id_number(b['tracking_id']) for b in boxes],
            [float(b['tracking_score']) for b in boxes])
