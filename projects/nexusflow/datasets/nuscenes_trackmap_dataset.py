"""nuScenes key frames with track ids and rasterized BEV map GT."""
import copy
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from mmdet3d.datasets import Det3DDataset
from mmdet3d.registry import DATASETS
from mmdet3d.structures import LiDARInstance3DBoxes
from ..structures.can_bus import CAN_BUS_DIMS, can_bus_vector
from ..structures.nuscenes_meta import DETECTION_CLASSES, MAP_CLASSES
from ..structures.poses import ego_velocity


@DATASETS.register_module()
class NuScenesTrackMapDataset(Det3DDataset):
    """Track + map samples from ``tools/create_data.py nuscenes`` infos.

    Training with ``queue_length > 1`` returns a clip: ``queue_length``
    consecutive key frames of one scene ending at the requested index (or
    starting at the scene's first frame when fewer precede it). Each frame
    runs through ``pipeline`` on its own, and the clip is
    ``dict(inputs={key: tensors stacked on a new first dim (T, ...) or a
    list of T}, data_samples=[T Det3DDataSample])``. Testing (or
    ``queue_length == 1``) returns single frames, in scene and time order.

    The info ``instances`` hold 9-dim LiDAR boxes ``(x, y, z_bottom, l, w,
    h, yaw, vx, vy)``, labels over the 10 :data:`DETECTION_CLASSES` (UniAD
    trains on all ten; ``metainfo=dict(classes=...)`` picks a subset, e.g.
    the 7 tracking classes), stable ``instance_id`` ints and
    ``num_lidar_pts``; ``map_masks`` holds the
    packed ``(4, H, W)`` map GT. Each sample gets
    ``task_mask = {'track': bool, 'map': bool}`` (True where that GT is
    present; the domain-split wrapper sets it) and BEVFormer's absolute
    18-value ``can_bus`` vector (float64; see
    :mod:`nexusflow.structures.can_bus`), from the info or, for infos made
    before it was recorded, from ``ego2global`` with zero CAN-bus values.
    ``ego_velocity`` ``(2, )`` is the ego vehicle's velocity in the LiDAR
    frame, from the ego positions of this and the next key frame (the last
    frame of a scene repeats the one before), as UniAD derives the ego
    (SDC) box it supervises its ego query with.

    Args:
        data_root (str): data root; info paths are relative to it.
        ann_file (str): the ``nuscenes_trackmap_infos_*.pkl`` file.
        pipeline (list): per-frame transforms, typically ending with
            ``LoadTrackMapAnnotations`` and ``PackTrackMapInputs``.
        queue_length (int): frames per training clip. Defaults to 1.
        use_valid_flag (bool): drop boxes with no lidar or radar points,
            as the devkit's evaluation does. Defaults to True.
        modality (dict): sensors to load. Defaults to cameras only.
        data_prefix (dict): path prefixes under ``data_root``.
        test_mode (bool): single frames in order, with ``eval_ann_info``.
        filter_empty_gt (bool): skip training frames without boxes.
            Defaults to False: such frames are legitimate (empty roads,
            unlabeled track task); the domain-split wrapper turns it off.
        **kwargs: passed to :class:`Det3DDataset`.
    """
    METAINFO = dict(classes=DETECTION_CLASSES, map_classes=MAP_CLASSES)

    def __init__(self,
                 data_root: Optional[str] = None,
                 ann_file: str = '',
                 pipeline: List[Union[dict, Callable]] = [],
                 queue_length: int = 1,
                 use_valid_flag: bool = True,
                 modality: dict = dict(use_camera=True, use_lidar=False),
                 data_prefix: dict = dict(pts='', img='', sweeps=''),
                 box_type_3d: str = 'LiDAR',
                 test_mode: bool = False,
                 filter_empty_gt: bool = False,
                 **kwargs) -> None:
        if int(queue_length) < 1:
            raise ValueError(f'NuScenesTrackMapDataset: queue_length must be '
                             f'>= 1, got {queue_length}')
        self.queue_length = int(queue_length)
        self.use_valid_flag = use_valid_flag
        super().__init__(
            data_root=data_root, ann_file=ann_file, pipeline=pipeline,
            modality=modality, data_prefix=data_prefix,
            box_type_3d=box_type_3d, test_mode=test_mode,
            filter_empty_gt=filter_empty_gt, **kwargs)

    # ------------------------------------------------------------- parsing
    def load_data_list(self) -> List[dict]:
        """Loads the infos and checks they are track + map infos."""
        import mmengine
        from mmengine.fileio import exists
        if not exists(self.ann_file):
            raise FileNotFoundError(
                f'NuScenesTrackMapDataset: ann_file {self.ann_file} does not '
                f'exist; create it with python tools/create_data.py nuscenes '
                f'--root {self.data_root} --version <version> --out '
                f'{self.data_root}')
        raw = mmengine.load(self.ann_file)
        if not isinstance(raw, dict) or 'data_list' not in raw:
            raise ValueError(f'NuScenesTrackMapDataset: {self.ann_file} is '
                             f'not an mmengine info file (expected a dict '
                             f'with metainfo and data_list)')
        meta = raw.get('metainfo', {})
        if meta.get('dataset') != 'nuscenes_trackmap':
            raise ValueError(
                f'NuScenesTrackMapDataset: {self.ann_file} has metainfo '
                f'dataset={meta.get("dataset")!r}, expected '
                f'\'nuscenes_trackmap\'; pass the nuscenes_trackmap_infos_*'
                f'.pkl files, not the stock nuscenes_infos_*.pkl')
        raw_classes = tuple(meta.get('classes', ()))
        if raw_classes != tuple(self.METAINFO['classes']):
            raise ValueError(
                f'NuScenesTrackMapDataset: {self.ann_file} labels the classes '
                f'{list(raw_classes)} (info_version '
                f'{meta.get("info_version", "?")}); this version expects '
                f'{list(self.METAINFO["classes"])}: rerun python '
                f'tools/create_data.py nuscenes for these infos')
        for key, value in meta.items():
            self._metainfo.setdefault(key, value)
        data_list = [self.parse_data_info(info) for info in raw['data_list']]
        _add_ego_velocities(data_list)
        return data_list

    def parse_data_info(self, info: dict) -> dict:
        info = super().parse_data_info(info)
        for key in ('lidar2ego', 'ego2global', 'lidar2global'):
            info[key] = np.asarray(info[key], dtype=np.float64)
        cams = list(info['images'].values())
        info['cam2img'] = [np.asarray(c['cam2img']) for c in cams]
        info['lidar2cam'] = [np.asarray(c['lidar2cam']) for c in cams]
        info['lidar2img'] = [np.asarray(c['lidar2img']) for c in cams]
        info['num_views'] = len(cams)
        if info.get('can_bus') is None:
            info['can_bus'] = can_bus_vector(info['ego2global'])
        info['can_bus'] = np.asarray(info['can_bus'], dtype=np.float64)
        if info['can_bus'].shape != (CAN_BUS_DIMS, ):
            raise ValueError(f'NuScenesTrackMapDataset: sample '
                             f'{info.get("token", "?")} has a can_bus of '
                             f'shape {info["can_bus"].shape}; expected '
                             f'({CAN_BUS_DIMS},)')
        info.setdefault('task_mask', {
            'track': True,
            'map': info.get('map_masks') is not None
        })
        return info

    def parse_ann_info(self, info: dict) -> dict:
        """Instances as arrays; boxes as 9-dim LiDARInstance3DBoxes.

        Args:
            info (dict): one info record.

        Returns:
            dict: ``gt_bboxes_3d``, ``gt_labels_3d``, ``instance_ids``,
            ``num_lidar_pts`` (empty arrays when there are no boxes).
        """
        instances = [
            ins for ins in info.get('instances', [])
            if not self.use_valid_flag or ins.get('bbox_3d_isvalid', True)
        ]
        instances = [
            ins for ins in instances
            if self.label_mapping[ins['bbox_label_3d']] != -1
        ]
        boxes = np.array([ins['bbox_3d'] for ins in instances],
                         dtype=np.float32).reshape(-1, 9)
        labels = np.array(
            [self.label_mapping[ins['bbox_label_3d']] for ins in instances],
            dtype=np.int64)
        for label in labels:
            self.num_ins_per_cat[label] += 1
        return dict(
            gt_bboxes_3d=LiDARInstance3DBoxes(
                boxes, box_dim=9, origin=(0.5, 0.5, 0.0)),
            gt_labels_3d=labels,
            instance_ids=np.array([ins['instance_id'] for ins in instances],
                                  dtype=np.int64),
            num_lidar_pts=np.array(
                [ins['num_lidar_pts'] for ins in instances], dtype=np.int64),
            instances=instances)

    # ------------------------------------------------------------- clips
    def scene_bounds(self, index: int) -> tuple:
        """First and last dataset index of ``index``'s scene.

        Args:
            index (int): dataset index.

        Returns:
            tuple[int, int]: inclusive bounds.
        """
        if getattr(self, '_bounds', None) is None:
            tokens = [self.get_data_info(i)['scene_token']
                      for i in range(len(self))]
            bounds, start = [], 0
            for i in range(1, len(tokens) + 1):
                if i == len(tokens) or tokens[i] != tokens[start]:
                    bounds += [(start, i - 1)] * (i - start)
                    start = i
            self._bounds = bounds
        return self._bounds[index]

    def clip_indices(self, index: int) -> List[int]:
        """Indices of the training clip that ends at ``index``.

        The clip never leaves ``index``'s scene: near the scene start it
        begins at the first frame; a scene shorter than the clip repeats
        its last frame.

        Args:
            index (int): dataset index.

        Returns:
            list[int]: ``queue_length`` indices in time order.
        """
        first, last = self.scene_bounds(index)
        start = max(first, index - self.queue_length + 1)
        clip = list(range(start, min(start + self.queue_length, last + 1)))
        return clip + [clip[-1]] * (self.queue_length - len(clip))

    def _prepare_frame(self, index: int) -> Optional[dict]:
        info = copy.deepcopy(self.get_data_info(index))
        if not self.test_mode and self.filter_empty_gt and \
                len(info['ann_info']['gt_labels_3d']) == 0:
            return None
        info['box_type_3d'] = self.box_type_3d
        info['box_mode_3d'] = self.box_mode_3d
        return self.pipeline(info)

    def prepare_data(self, index: int) -> Optional[Any]:
        """One frame (testing, ``queue_length == 1``) or one clip."""
        if self.test_mode or self.queue_length == 1:
            return self._prepare_frame(index)
        frames = [self._prepare_frame(i) for i in self.clip_indices(index)]
        if any(frame is None for frame in frames):
            return None
        return stack_frames(frames)


def stack_frames(frames: Sequence[dict]) -> dict:
    """Turns per-frame packed results into one clip.

    Args:
        frames (Sequence[dict]): outputs of the pack transform.

    Returns:
        dict: ``inputs`` (tensors stacked on dim 0, other values as lists)
        and ``data_samples`` (list).
    """
    inputs: Dict[str, Any] = {}
    for key in frames[0]['inputs']:
        values = [frame['inputs'][key] for frame in frames]
        same_shape = all(
            isinstance(v, torch.Tensor) and v.shape == values[0].shape
            for v in values)
        inputs[key] = torch.stack(values) if same_shape else values
    return dict(inputs=inputs,
                data_samples=[frame['data_samples'] for frame in frames])


def _add_ego_velocities(data_list: List[dict]) -> None:
    """Sets each frame's ``ego_velocity`` from the next frame of its scene
    (the previous one's at a scene end; zero for one-frame scenes)."""
    for i, info in enumerate(data_list):
        info['ego_velocity'] = np.zeros(2)
        nxt = data_list[i + 1] if i + 1 < len(data_list) else None
        if nxt is not None and nxt['scene_token'] == info['scene_token']:
            info['ego_velocity'] = ego_velocity(
                info['ego2global'], nxt['ego2global'], info['lidar2global'],
                nxt['timestamp'] - info['timestamp'])
        elif i and data_list[i - 1]['scene_token'] == info['scene_token']:
            info['ego_velocity'] = data_list[i - 1]['ego_velocity']
