"""Drawing a finished test run again from its saved predictions.

The config's test dataset gives each frame's GT, images and poses (through
its own pipeline, so ``lidar2img`` fits the loaded images); the tracks come
from the tracking result json (global boxes back into each frame's LiDAR
frame) and the map from the saved probabilities. The model is not needed.
"""
import copy
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log

from .frame import frame_from_sample
from .predictions_io import (MAP_DIR, TRACKING_JSON, load_map_prediction,
                             tracks_in_lidar)
from .renderer import TrackMapRenderer
from .scene_writer import SceneWriter


def resolve_results(path: str) -> str:
    """``path`` itself, or ``path/results_nusc_tracking.json`` for a folder
    (a ``--show-dir`` output)."""
    return osp.join(path, TRACKING_JSON) if osp.isdir(path) else path


def scene_frames(dataset) -> 'OrderedDict[str, List[int]]':
    """Dataset indices of every scene's frames, in frame order.

    Args:
        dataset: a ``NuScenesTrackMapDataset`` (``get_data_info`` with
            ``scene_name`` and ``frame_idx``).

    Returns:
        OrderedDict[str, list[int]]: ``{scene_name: [index, ...]}`` in
        dataset order.
    """
    scenes: 'OrderedDict[str, List[tuple]]' = OrderedDict()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        name = info.get('scene_name') or info.get('scene_token')
        scenes.setdefault(str(name), []).append(
            (int(info.get('frame_idx') or 0), index))
    return OrderedDict((name, [i for _, i in sorted(frames)])
                       for name, frames in scenes.items())


def default_map_dir(results: str) -> Optional[str]:
    """``map_preds/`` next to the tracking json, when it exists."""
    folder = osp.join(osp.dirname(resolve_results(results)), MAP_DIR)
    return folder if osp.isdir(folder) else None


def render_saved_run(dataset_cfg: dict,
                     tracks: Dict[str, List[dict]],
                     out_dir: str,
                     map_dir: Optional[str] = None,
                     scenes: Optional[Sequence[str]] = None,
                     max_frames: Optional[int] = None,
                     renderer: Optional[TrackMapRenderer] = None,
                     gif: bool = True) -> Dict[str, List[str]]:
    """Renders frames of a test run from its saved predictions.

    Args:
        dataset_cfg (dict): the test dataset config (built with mmdet3d's
            ``DATASETS``).
        tracks (dict[str, list[dict]]): the tracking results,
            ``{sample_token: [box, ...]}`` (:func:`load_tracking_results`).
        out_dir (str): the output folder.
        map_dir (str, optional): folder of ``<token>.npz`` map predictions
            (see :func:`default_map_dir`); None draws no map prediction.
        scenes (Sequence[str], optional): scene names (default: every
            scene of the dataset).
        max_frames (int, optional): at most this many frames per scene,
            from its first.
        renderer (TrackMapRenderer, optional): drawing settings.
        gif (bool): write a GIF per scene.

    Returns:
        dict[str, list[str]]: ``frames`` (PNG paths) and ``gifs``.
    """
    from mmdet3d.registry import DATASETS
    if map_dir is not None and not osp.isdir(map_dir):
        raise FileNotFoundError(f'map prediction folder {map_dir} does not '
                                f'exist')
    if max_frames is not None and max_frames < 1:
        raise ValueError(f'max_frames must be >= 1, got {max_frames}')

    dataset = DATASETS.build(copy.deepcopy(dataset_cfg))
    index = scene_frames(dataset)
    chosen = list(scenes) if scenes else list(index)
    unknown = [s for s in chosen if s not in index]
    if unknown:
        raise ValueError(f'scene(s) {unknown} are not in the test set; it '
                         f'has {list(index)}')

    writer = SceneWriter(out_dir, renderer, gif=gif)
    missing = 0
    for scene in chosen:
        for i in index[scene][:max_frames]:
            item = dataset[i]
            frame = frame_from_sample(item['data_samples'],
                                      item['inputs'].get('img'))
            if frame.token not in tracks:
                missing += 1
            (frame.pred_boxes, frame.track_ids,
             frame.scores) = tracks_in_lidar(tracks.get(frame.token, []),
                                             frame.lidar2global)
            frame.pred_map = load_map_prediction(map_dir, frame.token)
            writer.add(frame)
    gifs = writer.close()
    if missing:
        print_log(f'{missing} rendered frames have no entry in the '
                  f'tracking results; they show no tracks', logger='current')
    return dict(frames=[p for s in chosen for p in writer.frames.get(s, [])],
                gifs=gifs)
