"""The synthetic nuScenes set loads with the real devkit, unchanged."""
import filecmp
import json
import os
import os.path as osp

import numpy as np
import pytest
from pyquaternion import Quaternion

from nexusflow.testing import create_synthetic_nuscenes
from nexusflow.testing.synthetic_map import LOCATIONS

VERSION = 'v1.0-mini'
# Token fields of the tables and the table each one points into.
LINKS = {
    'sample_token': 'sample', 'scene_token': 'scene', 'log_token': 'log',
    'instance_token': 'instance', 'category_token': 'category',
    'visibility_token': 'visibility', 'sensor_token': 'sensor',
    'calibrated_sensor_token': 'calibrated_sensor',
    'ego_pose_token': 'ego_pose', 'first_sample_token': 'sample',
    'last_sample_token': 'sample',
    'first_annotation_token': 'sample_annotation',
    'last_annotation_token': 'sample_annotation'
}


@pytest.fixture(scope='module')
def nusc(synthetic_nuscenes):
    from nuscenes import NuScenes
    return NuScenes(VERSION, synthetic_nuscenes, verbose=False)


def chain(nusc, table, first):
    records, token = [], first
    while token:
        records.append(nusc.get(table, token))
        token = records[-1]['next']
    return records


def test_every_table_link_resolves(nusc, synthetic_nuscenes):
    assert len(nusc.scene) == 4 and len(nusc.sample) == 16
    for table in nusc.table_names:
        for record in getattr(nusc, table):
            for field, target in LINKS.items():
                if field in record:
                    nusc.get(target, record[field])  # raises if dangling
            for field in ('prev', 'next'):
                if record.get(field):
                    assert nusc.get(table, record[field])['token']
            for token in record.get('attribute_tokens', []):
                nusc.get('attribute', token)
            for token in record.get('log_tokens', []):
                nusc.get('log', token)
            if 'filename' in record:
                assert osp.isfile(osp.join(synthetic_nuscenes,
                                           record['filename']))
    for scene in nusc.scene:
        samples = chain(nusc, 'sample', scene['first_sample_token'])
        assert len(samples) == scene['nbr_samples'] == 4
        assert samples[-1]['token'] == scene['last_sample_token']
        assert all(s['scene_token'] == scene['token'] for s in samples)
    for instance in nusc.instance:
        anns = chain(nusc, 'sample_annotation',
                     instance['first_annotation_token'])
        assert len(anns) == instance['nbr_annotations']
        assert anns[-1]['token'] == instance['last_annotation_token']
    for sample in nusc.sample:
        assert set(sample['data']) == {
            'LIDAR_TOP', 'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT',
            'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT'
        }


def test_train_and_val_hold_both_cities(nusc, synthetic_nuscenes):
    from nuscenes.utils import splits
    location = {s['name']: nusc.get('log', s['log_token'])['location']
                for s in nusc.scene}
    for official in (splits.mini_train, splits.mini_val):
        cities = {location[n].split('-')[0] for n in official
                  if n in location}
        assert cities == {'boston', 'singapore'}
    with open(osp.join(synthetic_nuscenes, VERSION, 'splits.json')) as f:
        custom = json.load(f)
    assert sorted(custom['val_all']) == sorted(
        n for n in splits.mini_val if n in location)
    for split in ('train', 'val'):
        for city in ('boston', 'singapore'):
            names = custom[f'{split}_{city}']
            assert names and all(location[n].startswith(city)
                                 for n in names)


def test_all_four_locations_with_five_scenes():
    from nexusflow.testing.synthetic_nuscenes import plan_scenes
    assert {loc for _, loc, _ in plan_scenes(VERSION, 5)} == set(LOCATIONS)
    plan = plan_scenes('v1.0-trainval', 12)
    for split in ('train', 'val'):
        assert {loc.split('-')[0] for _, loc, s in plan if s == split} == {
            'boston', 'singapore'}


def test_map_expansion_around_the_ego(nusc, synthetic_nuscenes):
    from nuscenes.map_expansion.map_api import NuScenesMap
    maps = {loc: NuScenesMap(synthetic_nuscenes, loc) for loc in LOCATIONS}
    layers = ['drivable_area', 'road_segment', 'lane', 'road_divider',
              'lane_divider', 'ped_crossing', 'walkway']
    for scene in nusc.scene:
        nmap = maps[nusc.get('log', scene['log_token'])['location']]
        for sample in chain(nusc, 'sample', scene['first_sample_token']):
            lidar = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
            x, y = nusc.get('ego_pose', lidar['ego_pose_token'])[
                'translation'][:2]
            found = nmap.get_records_in_patch(
                (x - 50, y - 50, x + 50, y + 50), layers)
            assert all(found[layer] for layer in layers), found
            # The ego drives in a lane on drivable ground.
            on = nmap.layers_on_point(x, y)
            assert on['lane'] and on['drivable_area'] and on['road_segment']
            assert nmap.get_closest_lane(x, y, radius=3) == on['lane']


def test_num_lidar_pts_counts_points_in_boxes(nusc):
    from nuscenes.utils.data_classes import LidarPointCloud
    from nuscenes.utils.geometry_utils import points_in_box
    counts = []
    for sample in nusc.sample:
        lidar = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
        cloud = LidarPointCloud.from_file(
            nusc.get_sample_data_path(lidar['token']))
        assert cloud.points.shape[0] == 4 and cloud.nbr_points() > 1000
        raw = np.fromfile(nusc.get_sample_data_path(lidar['token']),
                          dtype=np.float32).reshape(-1, 5)
        assert set(np.unique(raw[:, 4])) <= set(range(32))  # ring ids
        cs = nusc.get('calibrated_sensor', lidar['calibrated_sensor_token'])
        pose = nusc.get('ego_pose', lidar['ego_pose_token'])
        cloud.rotate(Quaternion(cs['rotation']).rotation_matrix)
        cloud.translate(np.array(cs['translation']))
        cloud.rotate(Quaternion(pose['rotation']).rotation_matrix)
        cloud.translate(np.array(pose['translation']))
        for token in sample['anns']:
            ann = nusc.get('sample_annotation', token)
            inside = points_in_box(nusc.get_box(token), cloud.points[:3])
            assert inside.sum() == ann['num_lidar_pts'], ann['category_name']
            counts.append(ann['num_lidar_pts'])
    counts = np.array(counts)
    assert (counts == 0).sum() >= 1  # exercises the devkit's filtering
    assert (counts > 0).mean() > 0.9


def test_objects_move_consistently(nusc):
    from nuscenes.eval.tracking.utils import category_to_tracking_name
    names, static, moving = set(), 0, 0
    for instance in nusc.instance:
        anns = chain(nusc, 'sample_annotation',
                     instance['first_annotation_token'])
        category = nusc.get('category', instance['category_token'])['name']
        names.add(category_to_tracking_name(category))
        speeds = [np.linalg.norm(nusc.box_velocity(a['token'])[:2])
                  for a in anns]
        if len(anns) > 1 and max(speeds) < 1e-6:
            static += 1
        elif len(anns) > 1 and min(speeds) > 0.5:
            moving += 1
            # Constant velocity: centered differences agree along the track.
            assert np.ptp(speeds) < 0.5
    assert names - {None} == {'car', 'truck', 'bus', 'trailer', 'motorcycle',
                              'bicycle', 'pedestrian'}
    assert static >= 1 and moving >= 10


def test_cameras_match_their_intrinsics(nusc):
    import cv2
    sample = nusc.sample[0]
    for channel in ('CAM_FRONT', 'CAM_BACK_LEFT'):
        record = nusc.get('sample_data', sample['data'][channel])
        img = cv2.imread(nusc.get_sample_data_path(record['token']))
        assert img.shape == (record['height'], record['width'], 3) == (36, 64,
                                                                       3)
        intrinsic = np.array(nusc.get(
            'calibrated_sensor',
            record['calibrated_sensor_token'])['camera_intrinsic'])
        assert intrinsic[0, 2] == 32 and intrinsic[1, 2] == 18
    # A box straight ahead projects inside the front image.
    _, boxes, intrinsic = nusc.get_sample_data(
        sample['data']['CAM_FRONT'])
    from nuscenes.utils.geometry_utils import view_points
    centres = np.array([b.center for b in boxes if b.center[2] > 1]).T
    uv = view_points(centres, intrinsic, normalize=True)[:2]
    assert ((uv[0] >= 0) & (uv[0] < 64) & (uv[1] >= 0) & (uv[1] < 36)).any()


def tiny(path, seed):
    return create_synthetic_nuscenes(str(path), num_scenes=2,
                                     samples_per_scene=2,
                                     sweeps_per_sample=0, image_size=(16, 16),
                                     seed=seed)


def test_deterministic_for_a_seed(tmp_path):
    a, b, c = tiny(tmp_path / 'a', 3), tiny(tmp_path / 'b', 3), tiny(
        tmp_path / 'c', 4)
    tables = sorted(os.listdir(osp.join(a, VERSION)))
    match, mismatch, errors = filecmp.cmpfiles(
        osp.join(a, VERSION), osp.join(b, VERSION), tables, shallow=False)
    assert not mismatch and not errors
    lidar = sorted(os.listdir(osp.join(a, 'samples', 'LIDAR_TOP')))
    assert filecmp.cmp(osp.join(a, 'samples', 'LIDAR_TOP', lidar[0]),
                       osp.join(b, 'samples', 'LIDAR_TOP', lidar[0]),
                       shallow=False)
    assert not filecmp.cmp(osp.join(a, VERSION, 'sample_annotation.json'),
                           osp.join(c, VERSION, 'sample_annotation.json'),
                           shallow=False)


@pytest.mark.parametrize('kwargs, message', [
    (dict(version='v2.0'), 'version must be one of'),
    (dict(num_scenes=11), 'num_scenes must be 1..10'),
    (dict(samples_per_scene=1), 'samples_per_scene must be >= 2'),
    (dict(image_size=(8, 8)), 'image_size must be at least'),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_synthetic_nuscenes(str(tmp_path), **kwargs)
