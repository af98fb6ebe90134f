"""Info files for :class:`NuScenesTrackMapDataset`.

One record per key frame, ordered by scene and time, holding the poses, the
six cameras, the tracking GT in the mmdet3d 1.x LiDAR box convention and
UniAD's map GT (see :mod:`.map_raster`): ``map_masks``, the packed ``(4, H,
W)`` semantic layers, and ``map_instances``, the thing instances as packed
pixel polylines (:meth:`.map_raster.MapPolylines.pack`). Files are
mmengine-style
``dict(metainfo=..., data_list=[...])`` pickles.

Box convention (mmdet3d >= 1.0, ``LiDARInstance3DBoxes``): ``(x, y, z, l, w,
h, yaw, vx, vy)`` in the LiDAR frame, ``z`` at the bottom centre, ``l`` along
the box heading, ``yaw`` the devkit's yaw of that heading from LiDAR +x
(counter-clockwise) and ``(vx, vy)`` the velocity in the LiDAR frame. The
devkit ``Box`` stores ``wlh`` and the gravity centre; mmdet3d 0.x used
``(w, l, h)`` and ``-yaw - pi/2`` instead.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..structures.can_bus import can_bus_from_messages, can_bus_vector
from ..structures.nuscenes_meta import (CAMERAS, DETECTION_CLASSES,
                                        MAP_CLASSES, TRACKING_CLASSES)
from ..structures.nuscenes_tables import LocationIndex
from ..structures.poses import rigid_inverse, transform_matrix
from .map_raster import MapRasterizer, pack_masks

# 1.1: boxes of all 10 detection classes (``bbox_label_3d`` indexes
# DETECTION_CLASSES); 1.0 held the 7 tracking classes only.
INFO_VERSION = '1.1'


def devkit_box_to_lidar(box) -> np.ndarray:
    """A devkit ``Box`` (already in the LiDAR frame) as an mmdet3d box.

    Args:
        box (nuscenes.utils.data_classes.Box): the box.

    Returns:
        np.ndarray: ``(7,)`` as ``(x, y, z_bottom, l, w, h, yaw)``.
    """
    w, l, h = box.wlh
    x, y, z = box.center
    yaw = box.orientation.yaw_pitch_roll[0]
    return np.array([x, y, z - h / 2, l, w, h, yaw])


def lidar_box_to_devkit(bbox: Sequence[float], name: str = '',
                        token: Optional[str] = None):
    """An mmdet3d LiDAR box (7 or 9 values) as a devkit ``Box``.

    Args:
        bbox (Sequence[float]): ``(x, y, z_bottom, l, w, h, yaw[, vx, vy])``.
        name (str): box name.
        token (str, optional): annotation token.

    Returns:
        nuscenes.utils.data_classes.Box: the box in the LiDAR frame.
    """
    from nuscenes.utils.data_classes import Box
    from pyquaternion import Quaternion
    x, y, z, l, w, h, yaw = (float(v) for v in bbox[:7])
    velocity = (float(bbox[7]), float(bbox[8]), 0.0) if len(bbox) >= 9 \
        else (np.nan, np.nan, np.nan)
    return Box([x, y, z + h / 2], [w, l, h],
               Quaternion(axis=[0, 0, 1], radians=yaw), name=name,
               token=token, velocity=velocity)


def detection_name(category: str) -> Optional[str]:
    """The devkit's detection class of a category, None if not detected.

    Args:
        category (str): nuScenes category name.

    Returns:
        str | None: one of :data:`DETECTION_CLASSES`.
    """
    from nuscenes.eval.detection.utils import category_to_detection_name
    return category_to_detection_name(category)


class TrackMapInfoBuilder:
    """Builds the per-sample records from a loaded devkit.

    Args:
        nusc (nuscenes.NuScenes): the loaded devkit.
        rasterizer (MapRasterizer): map GT rasterizer.
        can_bus (nuscenes.can_bus.can_bus_api.NuScenesCanBus, optional): the
            CAN-bus expansion; without it the CAN-bus values of the
            ``can_bus`` vectors (``[7:16]``) are zero.
    """

    def __init__(self, nusc, rasterizer: MapRasterizer,
                 can_bus=None) -> None:
        self.nusc = nusc
        self.rasterizer = rasterizer
        self.can_bus = can_bus
        self.locations = LocationIndex.from_records(nusc.log, nusc.scene)
        self._pose_messages: Dict[str, list] = {}

    def can_bus_info(self, sample: dict, scene_name: str,
                     ego_pose: dict) -> List[float]:
        """BEVFormer's absolute 18-value CAN-bus vector of a key frame (see
        :mod:`nexusflow.structures.can_bus`): the LiDAR ego pose's
        translation, quaternion and yaw, plus the expansion's acceleration,
        rotation rate and velocity where the expansion has the scene.

        Args:
            sample (dict): devkit sample record.
            scene_name (str): its scene's name.
            ego_pose (dict): the ego_pose record of its LiDAR sweep.

        Returns:
            list[float]: 18 values.
        """
        expansion = None
        if self.can_bus is not None:
            if scene_name not in self._pose_messages:
                try:
                    messages = self.can_bus.get_messages(
                        scene_name, 'pose', print_warnings=False)
                except Exception:  # scenes the expansion lacks: zeros
                    messages = []
                self._pose_messages[scene_name] = messages
            expansion = can_bus_from_messages(
                self._pose_messages[scene_name], sample['timestamp'])
        ego2global = transform_matrix(ego_pose['rotation'],
                                      ego_pose['translation'])
        return can_bus_vector(ego2global, rotation=ego_pose['rotation'],
                              expansion=expansion).tolist()

    def _pose(self, sample_data_token: str) -> Tuple[np.ndarray, np.ndarray]:
        """(sensor2ego, ego2global) of one sample_data record."""
        nusc = self.nusc
        record = nusc.get('sample_data', sample_data_token)
        cs = nusc.get('calibrated_sensor', record['calibrated_sensor_token'])
        pose = nusc.get('ego_pose', record['ego_pose_token'])
        return (transform_matrix(cs['rotation'], cs['translation']),
                transform_matrix(pose['rotation'], pose['translation']))

    def sample_info(self, sample: dict, frame_idx: int, location: str,
                    scene_name: str, with_annotations: bool) -> dict:
        """The record of one key frame.

        Args:
            sample (dict): devkit sample record.
            frame_idx (int): index of the sample in its scene.
            location (str): log location.
            scene_name (str): scene name.
            with_annotations (bool): add instances (False for test).

        Returns:
            dict: the info record.
        """
        nusc = self.nusc
        lidar_token = sample['data']['LIDAR_TOP']
        lidar_rec = nusc.get('sample_data', lidar_token)
        lidar2ego, ego2global = self._pose(lidar_token)
        lidar2global = ego2global @ lidar2ego
        global2lidar = rigid_inverse(lidar2global)
        info = dict(
            token=sample['token'], scene_token=sample['scene_token'],
            scene_name=scene_name, location=location,
            timestamp=sample['timestamp'] / 1e6, prev=sample['prev'],
            next=sample['next'], frame_idx=frame_idx,
            lidar2ego=lidar2ego.tolist(), ego2global=ego2global.tolist(),
            lidar2global=lidar2global.tolist(),
            lidar_points=dict(lidar_path=lidar_rec['filename'],
                              num_pts_feats=5, lidar2ego=lidar2ego.tolist()),
            can_bus=self.can_bus_info(
                sample, scene_name,
                nusc.get('ego_pose', lidar_rec['ego_pose_token'])),
            images={})
        for cam in CAMERAS:
            if cam not in sample['data']:
                continue
            cam_token = sample['data'][cam]
            cam_rec = nusc.get('sample_data', cam_token)
            cam2ego, cam_ego2global = self._pose(cam_token)
            cs = nusc.get('calibrated_sensor',
                          cam_rec['calibrated_sensor_token'])
            # The camera fires at its own time, so its ego pose differs.
            lidar2cam = rigid_inverse(cam_ego2global @ cam2ego) @ \
                lidar2global
            cam2img = np.array(cs['camera_intrinsic'])
            viewpad = np.eye(4)
            viewpad[:3, :3] = cam2img
            info['images'][cam] = dict(
                img_path=cam_rec['filename'], cam2img=cam2img.tolist(),
                lidar2cam=lidar2cam.tolist(),
                lidar2img=(viewpad @ lidar2cam).tolist(),
                cam2ego=cam2ego.tolist(), sample_data_token=cam_token,
                timestamp=cam_rec['timestamp'] / 1e6,
                height=cam_rec['height'], width=cam_rec['width'])
        info['instances'] = self._instances(
            sample, lidar_token, global2lidar) if with_annotations else []
        # UniAD's map GT: thing elements around the ego pose, drivable
        # around the LiDAR pose (see map_raster).
        polylines = self.rasterizer.thing_polylines(location, ego2global)
        info['map_masks'] = pack_masks(self.rasterizer.rasterize(
            location, lidar2global, ego2global, polylines))
        info['map_instances'] = polylines.pack()
        return info

    def _instances(self, sample: dict, lidar_token: str,
                   global2lidar: np.ndarray) -> List[dict]:
        nusc = self.nusc
        _, boxes, _ = nusc.get_sample_data(lidar_token)
        instances = []
        for box in boxes:
            ann = nusc.get('sample_annotation', box.token)
            name = detection_name(ann['category_name'])
            if name is None:
                continue
            velocity = nusc.box_velocity(box.token)
            velocity = np.nan_to_num(velocity, nan=0.0)
            velocity = global2lidar[:3, :3] @ velocity
            bbox = np.concatenate([devkit_box_to_lidar(box), velocity[:2]])
            instances.append(dict(
                bbox_3d=bbox.tolist(),
                bbox_label_3d=DETECTION_CLASSES.index(name),
                instance_id=nusc.getind('instance', ann['instance_token']),
                instance_token=ann['instance_token'],
                tracking_name=name if name in TRACKING_CLASSES else None,
                num_lidar_pts=int(ann['num_lidar_pts']),
                num_radar_pts=int(ann['num_radar_pts']),
                bbox_3d_isvalid=bool(ann['num_lidar_pts'] +
                                     ann['num_radar_pts'] > 0),
                visibility=ann['visibility_token']))
        return instances

    def scene_infos(self, scene: dict, with_annotations: bool) -> List[dict]:
        """Records of all key frames of one scene, in time order."""
        nusc = self.nusc
        location = self.locations.by_scene[scene['token']]
        infos, token, frame = [], scene['first_sample_token'], 0
        while token:
            sample = nusc.get('sample', token)
            infos.append(self.sample_info(sample, frame, location,
                                          scene['name'], with_annotations))
            token, frame = sample['next'], frame + 1
        return infos


def create_trackmap_infos(root: str, version: str, out_dir: str,
                          canvas_size: Tuple[int, int] = (200, 200),
                          resolution: float = 0.512,
                          info_prefix: str = 'nuscenes_trackmap',
                          splits: Optional[Dict[str, List[str]]] = None,
                          nusc=None,
                          can_bus_root: Optional[str] = None
                          ) -> Dict[str, str]:
    """Writes ``<out_dir>/<info_prefix>_infos_{train,val}.pkl``.

    Args:
        root (str): nuScenes data root (with the map expansion).
        version (str): nuScenes version.
        out_dir (str): output folder.
        canvas_size (tuple[int, int]): map canvas ``(H, W)``.
        resolution (float): metres per map pixel.
        info_prefix (str): file name prefix.
        splits (dict, optional): split name -> scene names. Defaults to the
            devkit's official split of the version.
        nusc (nuscenes.NuScenes, optional): an already loaded devkit.
        can_bus_root (str, optional): folder holding the CAN-bus expansion's
            ``can_bus/`` (BEVFormer's ``--canbus``). Defaults to ``root``;
            without a ``can_bus/`` folder there, the CAN-bus values of the
            ``can_bus`` vectors are zeros (the pose parts are always set).

    Returns:
        dict: split name -> written path.
    """
    import mmengine
    from nuscenes import NuScenes

    from .nuscenes_infos import check_nuscenes_root, scene_split_names

    check_nuscenes_root(root, version)
    if nusc is None:
        nusc = NuScenes(version=version, dataroot=root, verbose=False)
    splits = splits or scene_split_names(version)
    can_bus_root = root if can_bus_root is None else can_bus_root
    can_bus = None
    if osp.isdir(osp.join(can_bus_root, 'can_bus')):
        from nuscenes.can_bus.can_bus_api import NuScenesCanBus
        can_bus = NuScenesCanBus(dataroot=can_bus_root)
    else:
        print(f'No CAN-bus expansion at {osp.join(can_bus_root, "can_bus")}:'
              f' the can_bus vectors get zero acceleration, rotation rate '
              f'and velocity (their ego-pose parts are set)')
    builder = TrackMapInfoBuilder(
        nusc, MapRasterizer(root, canvas_size, resolution), can_bus)
    by_name = {scene['name']: scene for scene in nusc.scene}
    metainfo = dict(
        dataset='nuscenes_trackmap', version=version,
        info_version=INFO_VERSION, classes=DETECTION_CLASSES,
        map_classes=MAP_CLASSES,
        map_canvas=dict(size=tuple(canvas_size), resolution=resolution),
        map_gt=builder.rasterizer.describe(),
        box_convention='LiDAR (x, y, z_bottom, l, w, h, yaw, vx, vy)')
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for split, names in splits.items():
        scenes = [by_name[n] for n in sorted(names) if n in by_name]
        data_list = []
        for scene in mmengine.track_iter_progress(scenes) if scenes \
                else []:
            data_list += builder.scene_infos(scene, split != 'test')
        for i, info in enumerate(data_list):
            info['sample_idx'] = i
        paths[split] = osp.join(out_dir, f'{info_prefix}_infos_{split}.pkl')
        mmengine.dump(dict(metainfo=metainfo, data_list=data_list),
                      paths[split])
        print(f'{split}: {len(scenes)} scenes, {len(data_list)} samples '
              f'-> {paths[split]}')
    return paths
