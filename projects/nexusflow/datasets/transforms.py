"""Loading and packing transforms for the track + map samples."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData, PixelData

from mmdet3d.datasets.transforms import Pack3DDetInputs
from mmdet3d.registry import TRANSFORMS
from ..converters.map_raster import MapPolylines, unpack_masks

TRACKMAP_META_KEYS = (
    'token', 'scene_token', 'scene_name', 'location', 'timestamp',
    'frame_idx', 'lidar2ego', 'ego2global', 'lidar2global', 'cam2img',
    'lidar2cam', 'lidar2img', 'task_mask', 'sample_idx', 'img_path',
    'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'box_mode_3d',
    'box_type_3d', 'num_views', 'ori_cam2img', 'lidar_path', 'num_pts_feats',
    'can_bus', 'ego_velocity')


@TRANSFORMS.register_module()
class LoadTrackMapAnnotations(BaseTransform):
    """Moves a track + map sample's GT from its info into the results.

    Reads ``ann_info`` (training) or ``eval_ann_info`` (testing) as made by
    ``NuScenesTrackMapDataset`` and adds ``gt_bboxes_3d``, ``gt_labels_3d``,
    ``gt_instance_ids`` and, when the sample has map GT, ``gt_map``
    (uint8 ``(4, H, W)``, the semantic layers) and, with
    ``with_map_instances``, ``gt_map_instances``: UniAD's thing instances
    as ``dict(labels=(N,) int64, masks=(N, H, W) uint8, bboxes=(N, 4)
    float32)`` (see :mod:`nexusflow.converters.map_raster`), drawn from the
    info's ``map_instances`` polylines. A sample whose map GT was removed
    (unlabeled task) gets neither key.

    Args:
        with_map (bool): decode the map masks. Defaults to True.
        with_map_instances (bool): also draw the thing instances (the
            panoptic map head's targets). Defaults to False.
    """

    def __init__(self, with_map: bool = True,
                 with_map_instances: bool = False) -> None:
        self.with_map = with_map
        self.with_map_instances = with_map_instances

    def transform(self, results: dict) -> dict:
        ann = results.get('ann_info') or results.get('eval_ann_info')
        if ann is None:
            raise KeyError(f'LoadTrackMapAnnotations: sample '
                           f'{results.get("token", "?")} has neither '
                           f'ann_info nor eval_ann_info; build it with '
                           f'NuScenesTrackMapDataset')
        results['gt_bboxes_3d'] = ann['gt_bboxes_3d']
        results['gt_labels_3d'] = ann['gt_labels_3d']
        results['gt_instance_ids'] = ann['instance_ids']
        if self.with_map and results.get('map_masks') is not None:
            results['gt_map'] = unpack_masks(results['map_masks'])
        if self.with_map_instances and \
                results.get('map_masks') is not None:
            if results.get('map_instances') is None:
                raise ValueError(
                    f'LoadTrackMapAnnotations: sample '
                    f'{results.get("token", "?")} has map GT but no '
                    f'map_instances (infos written before the map thing '
                    f'instances existed); rerun python tools/create_data.py '
                    f'nuscenes for these infos')
            results['gt_map_instances'] = MapPolylines.unpack(
                results['map_instances']).instances()
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_map={self.with_map}, '
                f'with_map_instances={self.with_map_instances})')


@TRANSFORMS.register_module()
class TrackObjectRangeFilter(BaseTransform):
    """Drops GT boxes whose centre lies outside the BEV range, together with
    their labels and instance ids (mmdet3d's ``ObjectRangeFilter`` leaves
    ``gt_instance_ids`` unfiltered, which would pair ids with other boxes).

    Args:
        point_cloud_range (Sequence[float]): ``[x_min, y_min, z_min, x_max,
            y_max, z_max]``; only x and y are used, as UniAD's
            ``ObjectRangeFilterTrack`` does.
    """

    def __init__(self, point_cloud_range: Sequence[float]) -> None:
        self.bev_range = np.asarray(point_cloud_range,
                                    dtype=np.float32)[[0, 1, 3, 4]]

    def transform(self, results: dict) -> dict:
        """Filters ``gt_bboxes_3d``, ``gt_labels_3d``, ``gt_instance_ids``."""
        boxes = results['gt_bboxes_3d']
        keep = boxes.in_range_bev(self.bev_range).numpy().astype(bool)
        results['gt_bboxes_3d'] = boxes[keep]
        for key in ('gt_labels_3d', 'gt_instance_ids'):
            if key in results:
                results[key] = np.asarray(results[key])[keep]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'point_cloud_range={self.bev_range.tolist()})')


@TRANSFORMS.register_module()
class PackTrackMapInputs(Pack3DDetInputs):
    """Packs one track + map frame into ``inputs`` and a Det3DDataSample.

    On top of :class:`Pack3DDetInputs` this adds
    ``gt_instances_3d.instance_ids`` (aligned with ``bboxes_3d``),
    ``gt_map = PixelData(masks=uint8 tensor (4, H, W))`` in the order
    divider, ped_crossing, contour, drivable and ``gt_map_instances =
    InstanceData(labels=int64 (N,), masks=uint8 (N, H, W), bboxes=float32
    (N, 4))`` (both absent when the map task is unlabeled; the latter only
    when loaded), ``lidar2img`` computed from the current ``cam2img`` and
    ``lidar2cam`` (so image resizing is respected) and the track + map meta
    keys, ``task_mask`` included.

    Args:
        keys (Sequence[str]): input / GT keys for :class:`Pack3DDetInputs`.
            Defaults to ``('img', 'gt_bboxes_3d', 'gt_labels_3d')``.
        meta_keys (Sequence[str]): meta keys. Defaults to
            :data:`TRACKMAP_META_KEYS`.
    """

    def __init__(self,
                 keys: Sequence[str] = ('img', 'gt_bboxes_3d',
                                        'gt_labels_3d'),
                 meta_keys: Sequence[str] = TRACKMAP_META_KEYS) -> None:
        super().__init__(keys=tuple(keys), meta_keys=tuple(meta_keys))

    def pack_single_results(self, results: dict) -> dict:
        if 'cam2img' in results and 'lidar2cam' in results:
            results['lidar2img'] = [
                _pad4(cam2img) @ np.asarray(lidar2cam)
                for cam2img, lidar2cam in zip(results['cam2img'],
                                              results['lidar2cam'])
            ]
        ids = results.get('gt_instance_ids')
        packed = super().pack_single_results(results)
        sample = packed['data_samples']
        if ids is not None and 'gt_bboxes_3d' in results:
            boxes = sample.gt_instances_3d.get('bboxes_3d')
            if boxes is not None and len(boxes) != len(ids):
                raise ValueError(
                    f'PackTrackMapInputs: sample {results.get("token", "?")} '
                    f'has {len(boxes)} boxes but {len(ids)} instance ids; a '
                    f'transform dropped boxes without their ids (use the '
                    f'dataset\'s filters instead of box filters in the '
                    f'pipeline)')
            sample.gt_instances_3d.instance_ids = torch.as_tensor(
                np.asarray(ids), dtype=torch.long)
        if results.get('gt_map') is not None:
            sample.gt_map = PixelData(
                masks=torch.as_tensor(np.asarray(results['gt_map']),
                                      dtype=torch.uint8))
        things = results.get('gt_map_instances')
        if things is not None:
            sample.gt_map_instances = InstanceData(
                labels=torch.as_tensor(things['labels'], dtype=torch.long),
                masks=torch.as_tensor(things['masks'], dtype=torch.uint8),
                bboxes=torch.as_tensor(things['bboxes'],
                                       dtype=torch.float32))
        return packed


def _pad4(mat: Optional[np.ndarray]) -> np.ndarray:
    """A 3x3 (or 4x4) intrinsic as 4x4."""
    mat = np.asarray(mat, dtype=np.float64)
    out = np.eye(4)
    out[:mat.shape[0], :mat.shape[1]] = mat
    return out
