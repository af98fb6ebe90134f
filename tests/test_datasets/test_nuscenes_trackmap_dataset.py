"""NuScenesTrackMapDataset: packed frames, clips inside one scene, order."""
import mmengine
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from mmdet3d.registry import DATASETS
from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from nexusflow.datasets import TrackObjectRangeFilter
from nexusflow.structures.nuscenes_meta import (DETECTION_CLASSES,
                                                TRACKING_CLASSES)

META_KEYS = ('token', 'scene_token', 'scene_name', 'location', 'timestamp',
             'frame_idx', 'lidar2ego', 'ego2global', 'lidar2global',
             'cam2img', 'lidar2cam', 'lidar2img', 'task_mask', 'can_bus')
PIPELINE = [
    dict(type='LoadMultiViewImageFromFiles', to_float32=True, num_views=6),
    dict(type='LoadTrackMapAnnotations'),
    dict(type='PackTrackMapInputs')
]


def build(infos, split='train', **kwargs):
    init_default_scope('mmdet3d')
    return DATASETS.build(
        dict(type='NuScenesTrackMapDataset', data_root=infos['root'],
             ann_file=infos[f'trackmap_{split}'], pipeline=PIPELINE,
             **kwargs))


def test_frame_is_packed_with_all_gt_and_meta(synthetic_nuscenes_infos):
    dataset = build(synthetic_nuscenes_infos)
    assert len(dataset) == 8
    out = dataset[1]
    assert out['inputs']['img'].shape == (6, 3, 36, 64)
    sample = out['data_samples']
    assert isinstance(sample, Det3DDataSample)
    assert set(META_KEYS) <= set(sample.metainfo)
    assert sample.metainfo['frame_idx'] == 1
    assert sample.metainfo['task_mask'] == dict(track=True, map=True)
    assert len(sample.metainfo['lidar2img']) == 6
    gt = sample.gt_instances_3d
    assert isinstance(gt.bboxes_3d, LiDARInstance3DBoxes)
    assert gt.bboxes_3d.box_dim == 9 and len(gt) >= 7
    assert gt.instance_ids.dtype == torch.long
    assert len(set(gt.instance_ids.tolist())) == len(gt)
    # UniAD's 10 training classes, in the devkit's detection order.
    assert set(gt.labels_3d.tolist()) <= set(range(10))
    assert dataset.metainfo['classes'] == DETECTION_CLASSES
    masks = sample.gt_map.masks
    assert masks.dtype == torch.uint8 and masks.shape == (4, 200, 200)
    # The GT matches the info file (valid boxes only).
    info = mmengine.load(synthetic_nuscenes_infos['trackmap_train'])[
        'data_list'][1]
    valid = [i for i in info['instances'] if i['bbox_3d_isvalid']]
    assert gt.instance_ids.tolist() == [i['instance_id'] for i in valid]
    assert torch.allclose(gt.bboxes_3d.tensor,
                          torch.tensor([i['bbox_3d'] for i in valid]))


def test_invalid_boxes_can_be_kept(synthetic_nuscenes_infos):
    data = mmengine.load(synthetic_nuscenes_infos['trackmap_train'])
    invalid = sum(not i['bbox_3d_isvalid'] for info in data['data_list']
                  for i in info['instances'])
    assert invalid >= 1  # the generator hides a pedestrian now and then
    kept = build(synthetic_nuscenes_infos, use_valid_flag=False)
    dropped = build(synthetic_nuscenes_infos)
    count = lambda ds: sum(  # noqa: E731
        len(ds.get_data_info(i)['ann_info']['gt_labels_3d'])
        for i in range(len(ds)))
    assert count(kept) - count(dropped) == invalid


def test_clips_stay_inside_one_scene(synthetic_nuscenes_infos):
    dataset = build(synthetic_nuscenes_infos, queue_length=3)
    for index in range(len(dataset)):
        clip = dataset.clip_indices(index)
        infos = [dataset.get_data_info(i) for i in clip]
        assert len({i['scene_token'] for i in infos}) == 1
        frames = [i['frame_idx'] for i in infos]
        assert frames == list(range(frames[0], frames[0] + 3))
        assert index in clip
        if dataset.get_data_info(index)['frame_idx'] >= 2:
            assert clip[-1] == index  # ends at the requested frame
    out = dataset[5]
    assert out['inputs']['img'].shape == (3, 6, 3, 36, 64)
    samples = out['data_samples']
    assert [s.metainfo['frame_idx'] for s in samples] == [0, 1, 2]
    assert len({s.metainfo['scene_token'] for s in samples}) == 1


def test_short_scene_repeats_its_last_frame(synthetic_nuscenes_infos):
    dataset = build(synthetic_nuscenes_infos, queue_length=6)
    assert dataset.clip_indices(5) == [4, 5, 6, 7, 7, 7]


def test_test_mode_gives_single_frames_in_order(synthetic_nuscenes_infos):
    dataset = build(synthetic_nuscenes_infos, split='val', test_mode=True,
                    queue_length=3)
    keys = []
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        keys.append((sample.metainfo['scene_name'],
                     sample.metainfo['frame_idx']))
        assert sample.eval_ann_info is not None
    assert keys == sorted(keys) and len(keys) == 8


def test_wrong_info_files_fail_clearly(synthetic_nuscenes_infos, tmp_path):
    with pytest.raises(ValueError, match='expected .nuscenes_trackmap.'):
        build(dict(root=synthetic_nuscenes_infos['root'],
                   trackmap_train=synthetic_nuscenes_infos['train']))
    with pytest.raises(FileNotFoundError, match='create_data.py nuscenes'):
        build(dict(root=synthetic_nuscenes_infos['root'],
                   trackmap_train=str(tmp_path / 'missing.pkl')))
    with pytest.raises(ValueError, match='queue_length must be >= 1'):
        build(synthetic_nuscenes_infos, queue_length=0)
    # Infos of the 7-class format (info_version 1.0) must be remade.
    data = mmengine.load(synthetic_nuscenes_infos['trackmap_train'])
    data['metainfo'].update(classes=TRACKING_CLASSES, info_version='1.0')
    old = tmp_path / 'seven_classes.pkl'
    mmengine.dump(data, str(old))
    with pytest.raises(ValueError, match='rerun python tools/create_data'):
        build(dict(root=synthetic_nuscenes_infos['root'],
                   trackmap_train=str(old)))


def test_tracking_classes_subset_and_ego_velocity(synthetic_nuscenes_infos):
    seven = build(synthetic_nuscenes_infos,
                  metainfo=dict(classes=list(TRACKING_CLASSES)))
    full = build(synthetic_nuscenes_infos)
    for index in range(len(full)):
        a = full.get_data_info(index)['ann_info']
        b = seven.get_data_info(index)['ann_info']
        names = [DETECTION_CLASSES[i] for i in a['gt_labels_3d']]
        tracked = [n for n in names if n in TRACKING_CLASSES]
        assert [TRACKING_CLASSES[i] for i in b['gt_labels_3d']] == tracked
    # The ego velocity: the ego's displacement to the next key frame over
    # the time between them, in the LiDAR axes; a scene's last frame
    # repeats the one before.
    infos = [full.get_data_info(i) for i in range(len(full))]
    for info, nxt in zip(infos, infos[1:]):
        if info['scene_token'] != nxt['scene_token']:
            continue
        shift = (nxt['ego2global'][:3, 3] - info['ego2global'][:3, 3]) / (
            nxt['timestamp'] - info['timestamp'])
        want = (info['lidar2global'][:3, :3].T @ shift)[:2]
        np.testing.assert_allclose(info['ego_velocity'], want, atol=1e-9)
        assert np.linalg.norm(want) > 0.5  # the synthetic ego drives
    last = [i for i, (a, b) in enumerate(zip(infos, infos[1:] + [None]))
            if b is None or b['scene_token'] != a['scene_token']]
    for i in last:
        np.testing.assert_array_equal(infos[i]['ego_velocity'],
                                      infos[i - 1]['ego_velocity'])
    sample = full[1]['data_samples']
    assert sample.metainfo['ego_velocity'].shape == (2, )


def test_every_frame_carries_the_absolute_can_bus(synthetic_nuscenes_infos,
                                                  tmp_path):
    dataset = build(synthetic_nuscenes_infos, queue_length=2)
    samples = dataset[1]['data_samples']
    for sample in samples:
        can_bus = sample.metainfo['can_bus']
        assert can_bus.dtype == np.float64 and can_bus.shape == (18, )
        # Absolute: the ego2global translation and yaw, not a delta.
        assert can_bus[0:3].tolist() == \
            sample.metainfo['ego2global'][:3, 3].tolist()
        assert 0 <= can_bus[16] < 2 * np.pi
        assert can_bus[17] == pytest.approx(np.degrees(can_bus[16]))
    assert samples[0].metainfo['can_bus'][0:3].tolist() != \
        samples[1].metainfo['can_bus'][0:3].tolist()
    # Infos written before can_bus was recorded: derived from ego2global.
    data = mmengine.load(synthetic_nuscenes_infos['trackmap_train'])
    recorded = [np.array(info.pop('can_bus')) for info in data['data_list']]
    old = tmp_path / 'old_infos.pkl'
    mmengine.dump(data, str(old))
    derived = build(dict(root=synthetic_nuscenes_infos['root'],
                         trackmap_train=str(old)))
    for index, want in enumerate(recorded):
        got = derived.get_data_info(index)['can_bus']
        np.testing.assert_allclose(got, want, atol=1e-9)


def test_range_filter_keeps_ids_with_their_boxes():
    centres = [[10.0, 0.0], [60.0, 0.0], [-20.0, -51.0], [0.0, 52.0]]
    boxes = LiDARInstance3DBoxes(torch.tensor(
        [[x, y, -1.0, 4.0, 2.0, 1.5, 0.1] for x, y in centres]))
    results = dict(gt_bboxes_3d=boxes, gt_labels_3d=np.array([0, 1, 2, 3]),
                   gt_instance_ids=np.array([11, 12, 13, 14]))
    out = TrackObjectRangeFilter([-51.2, -51.2, -5.0, 51.2, 51.2, 3.0])(
        results)
    assert out['gt_bboxes_3d'].tensor[:, 0].tolist() == [10.0, -20.0]
    assert out['gt_labels_3d'].tolist() == [0, 2]
    assert out['gt_instance_ids'].tolist() == [11, 13]
