"""Track + map infos: the mmdet3d 1.x box convention, ids, poses, maps."""
import math

import mmengine
import numpy as np
import pytest
import torch
from nuscenes.eval.detection.utils import category_to_detection_name
from pyquaternion import Quaternion

from mmdet3d.structures import LiDARInstance3DBoxes
from nexusflow.converters import devkit_box_to_lidar, lidar_box_to_devkit
from nexusflow.converters.map_raster import MapPolylines, unpack_masks
from nexusflow.structures.nuscenes_meta import (DETECTION_CLASSES,
                                                TRACKING_CLASSES)


def sorted_rows(corners):
    corners = np.asarray(corners).round(4)
    return corners[np.lexsort(corners.T[::-1])]


@pytest.mark.parametrize('yaw', [0.0, 0.3, math.pi / 2, -2.5])
def test_devkit_box_roundtrip(yaw):
    from nuscenes.utils.data_classes import Box
    box = Box([3.0, -7.0, -0.5], [1.9, 4.6, 1.7],
              Quaternion(axis=[0, 0, 1], radians=yaw))
    bbox = devkit_box_to_lidar(box)
    # Bottom centre, (l, w, h) and the devkit's yaw (mmdet3d >= 1.0).
    assert bbox[2] == pytest.approx(-0.5 - 1.7 / 2)
    assert bbox[3:6] == pytest.approx([4.6, 1.9, 1.7])
    ours = LiDARInstance3DBoxes(torch.tensor([bbox], dtype=torch.float32),
                                origin=(0.5, 0.5, 0.0))
    assert np.allclose(sorted_rows(ours.corners[0].numpy()),
                       sorted_rows(box.corners().T), atol=1e-3)
    # The heading (+l axis) matches the devkit's orientation.
    heading = box.orientation.rotate([1.0, 0.0, 0.0])[:2]
    assert heading == pytest.approx([math.cos(bbox[6]), math.sin(bbox[6])])
    back = lidar_box_to_devkit(bbox)
    assert back.center == pytest.approx(box.center)
    assert back.wlh == pytest.approx(box.wlh)
    assert abs(back.orientation.yaw_pitch_roll[0] - yaw) < 1e-9 or \
        abs(abs(back.orientation.yaw_pitch_roll[0] - yaw) - 2 * math.pi) < \
        1e-9


@pytest.fixture(scope='module')
def trackmap(synthetic_nuscenes_infos):
    from nuscenes import NuScenes
    info = synthetic_nuscenes_infos
    nusc = NuScenes(info['version'], info['root'], verbose=False)
    return nusc, {split: mmengine.load(info[f'trackmap_{split}'])
                  for split in ('train', 'val')}


def test_records_follow_scenes_and_time(trackmap):
    nusc, data = trackmap
    val = data['val']
    meta = val['metainfo']
    assert meta['dataset'] == 'nuscenes_trackmap'
    assert meta['classes'] == DETECTION_CLASSES
    assert meta['map_canvas'] == dict(size=(200, 200), resolution=0.512)
    infos = val['data_list']
    assert [i['scene_name'] for i in infos] == ['scene-0103'] * 4 + [
        'scene-0916'] * 4
    assert [i['frame_idx'] for i in infos] == [0, 1, 2, 3] * 2
    assert [i['location'] for i in infos[::4]] == [
        'boston-seaport', 'singapore-queenstown']
    for a, b in zip(infos, infos[1:]):
        if a['scene_token'] == b['scene_token']:
            assert a['next'] == b['token'] and b['prev'] == a['token']
            assert b['timestamp'] > a['timestamp']
    assert len(data['train']['data_list']) == 8


def test_boxes_ids_and_labels_match_the_devkit(trackmap):
    nusc, data = trackmap
    seen, names = {}, set()
    for info in data['train']['data_list'] + data['val']['data_list']:
        sample = nusc.get('sample', info['token'])
        _, boxes, _ = nusc.get_sample_data(sample['data']['LIDAR_TOP'])
        lidar = {b.token: b for b in boxes}
        for instance in info['instances']:
            ann = nusc.get('sample_annotation',
                           next(t for t in sample['anns'] if nusc.get(
                               'sample_annotation', t)['instance_token'] ==
                                instance['instance_token']))
            box = lidar[ann['token']]
            bbox = np.array(instance['bbox_3d'])
            assert bbox.shape == (9, )
            assert bbox[:7] == pytest.approx(devkit_box_to_lidar(box))
            name = DETECTION_CLASSES[instance['bbox_label_3d']]
            assert name == category_to_detection_name(ann['category_name'])
            assert instance['tracking_name'] == (
                name if name in TRACKING_CLASSES else None)
            names.add(name)
            assert instance['num_lidar_pts'] == ann['num_lidar_pts']
            # Stable id per instance token, across frames and splits.
            assert seen.setdefault(instance['instance_token'],
                                   instance['instance_id']) == \
                instance['instance_id']
            # Velocity in the LiDAR frame.
            # NaN (a single annotation) is stored as 0.
            v_global = np.nan_to_num(nusc.box_velocity(ann['token'])[:2])
            rot = np.array(info['lidar2global'])[:2, :2]
            assert rot @ bbox[7:9] == pytest.approx(v_global, abs=1e-6)
        # Every box of a detection class is kept (UniAD trains on all 10).
        detected = [t for t in sample['anns'] if category_to_detection_name(
            nusc.get('sample_annotation', t)['category_name'])]
        assert len(info['instances']) == len(detected)
    assert len(set(seen.values())) == len(seen)
    assert names == set(DETECTION_CLASSES)


def test_poses_and_camera_matrices(trackmap):
    nusc, data = trackmap
    info = data['val']['data_list'][2]
    lidar2global = np.array(info['lidar2global'])
    assert np.allclose(lidar2global, np.array(info['ego2global']) @
                       np.array(info['lidar2ego']))
    assert len(info['images']) == 6
    for cam in info['images'].values():
        pad = np.eye(4)
        pad[:3, :3] = cam['cam2img']
        assert np.allclose(np.array(cam['lidar2img']),
                           pad @ np.array(cam['lidar2cam']))
        assert cam['img_path'].startswith('samples/CAM_')
    # A box ahead of the ego projects into CAM_FRONT.
    front = info['images']['CAM_FRONT']
    ahead = [i['bbox_3d'] for i in info['instances']
             if 5 < i['bbox_3d'][1] < 40 and abs(i['bbox_3d'][0]) < 5]
    assert ahead
    point = np.array(list(ahead[0][:3]) + [1.0])
    u, v, depth = (np.array(front['lidar2img']) @ point)[:3]
    assert depth > 0 and 0 <= u / depth < 64 and 0 <= v / depth < 36


def test_map_masks_around_the_ego(trackmap):
    _, data = trackmap
    assert data['val']['metainfo']['map_gt']['definition'] == 'uniad'
    crossings = 0
    for info in data['val']['data_list']:
        masks = unpack_masks(info['map_masks'])
        assert masks.shape == (4, 200, 200)
        divider, crossing, contour, drivable = masks
        # The ego is on the road: drivable under it, dividers and road
        # edges nearby, both along the driving direction (LiDAR y).
        assert drivable[98:103, 98:103].all()
        assert divider[:, 85:116].any(0).sum() >= 3
        assert contour[:, 75:126].any(0).sum() >= 2
        assert divider.sum() > 0 and contour.sum() > 0
        # The thing instances are drawn by the same code as the layers.
        lines = MapPolylines.unpack(info['map_instances'])
        assert np.array_equal(lines.semantic(), masks[:3])
        things = lines.instances()
        assert set(things['labels'].tolist()) >= {0, 2}
        crossings += int((lines.labels == 1).sum())
    assert crossings > 0


def test_can_bus_vectors_from_the_ego_pose(trackmap):
    nusc, data = trackmap
    for info in data['val']['data_list']:
        sample = nusc.get('sample', info['token'])
        lidar = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
        pose = nusc.get('ego_pose', lidar['ego_pose_token'])
        can_bus = np.array(info['can_bus'])
        assert can_bus.shape == (18, )
        assert can_bus[0:3] == pytest.approx(pose['translation'])
        assert can_bus[3:7].tolist() == list(pose['rotation'])
        # The synthetic set has no CAN-bus expansion.
        assert not can_bus[7:16].any()
        yaw = Quaternion(pose['rotation']).yaw_pitch_roll[0] % (2 * math.pi)
        assert can_bus[16] == pytest.approx(yaw)
        assert can_bus[17] == pytest.approx(math.degrees(yaw))


def test_can_bus_expansion_values_when_present(trackmap):
    from nexusflow.converters.trackmap_infos import TrackMapInfoBuilder
    nusc, _ = trackmap

    class FakeCanBus:
        def __init__(self):
            self.calls = []

        def get_messages(self, scene_name, message_name, print_warnings):
            self.calls.append((scene_name, message_name))
            if scene_name == 'scene-0916':
                raise Exception('no CAN bus data')  # as the devkit does
            return [dict(utime=0, pos=[0.0] * 3, orientation=[1.0, 0, 0, 0],
                         accel=[1.0, 2.0, 3.0], rotation_rate=[4.0, 5.0, 6.0],
                         vel=[7.0, 8.0, 9.0])]

    fake = FakeCanBus()
    builder = TrackMapInfoBuilder(nusc, None, can_bus=fake)
    scenes = {s['name']: s for s in nusc.scene}
    for name, expected in (('scene-0103', list(range(1, 10))),
                           ('scene-0916', [0] * 9)):
        sample = nusc.get('sample', scenes[name]['first_sample_token'])
        lidar = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
        pose = nusc.get('ego_pose', lidar['ego_pose_token'])
        for _ in range(2):
            vec = builder.can_bus_info(sample, name, pose)
            assert vec[7:16] == expected
            assert vec[0:3] == pytest.approx(pose['translation'])
    assert fake.calls == [('scene-0103', 'pose'), ('scene-0916', 'pose')]
