"""Ground truth of the suite's synthetic nuScenes root as tracking input."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from nexusflow.evaluation import TRACKING_CLASSES, global_boxes_to_lidar
from nexusflow.structures import transform_matrix

VERSION = 'v1.0-mini'


@pytest.fixture(scope='session')
def nusc_root(synthetic_nuscenes):
    """The suite's synthetic v1.0-mini root (read-only); its 'mini_val'
    holds scene-0103 (Boston) and scene-0916 (Singapore)."""
    return synthetic_nuscenes


@pytest.fixture(scope='session')
def nusc(nusc_root):
    from nuscenes import NuScenes
    return NuScenes(version=VERSION, dataroot=nusc_root, verbose=False)


def lidar2global(nusc, sample):
    """The key frame's LIDAR_TOP-to-global transform from the tables."""
    sd = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
    cs = nusc.get('calibrated_sensor', sd['calibrated_sensor_token'])
    ep = nusc.get('ego_pose', sd['ego_pose_token'])
    ego2global = transform_matrix(ep['rotation'], ep['translation'])
    return ego2global @ transform_matrix(cs['rotation'], cs['translation'])


def scene_samples(nusc, scene_name):
    scene = next(s for s in nusc.scene if s['name'] == scene_name)
    samples, token = [], scene['first_sample_token']
    while token:
        samples.append(nusc.get('sample', token))
        token = samples[-1]['next']
    return scene, samples


def gt_tracks(nusc, sample):
    """LiDAR-frame GT boxes (N, 9), labels and instance indices that the
    devkit keeps (a tracking class and at least one point)."""
    from nuscenes.eval.tracking.utils import category_to_tracking_name
    instance_ids = {r['token']: i for i, r in enumerate(nusc.instance)}
    anns = [nusc.get('sample_annotation', t) for t in sample['anns']]
    anns = [
        a for a in anns
        if category_to_tracking_name(a['category_name']) is not None
        and a['num_lidar_pts'] + a['num_radar_pts'] > 0
    ]
    if not anns:
        return np.zeros((0, 9)), np.zeros(0, int), np.zeros(0, int)
    boxes = global_boxes_to_lidar([a['translation'] for a in anns],
                                  [a['size'] for a in anns],
                                  [a['rotation'] for a in anns],
                                  [nusc.box_velocity(a['token'])
                                   for a in anns], lidar2global(nusc, sample))
    labels = np.array([
        TRACKING_CLASSES.index(category_to_tracking_name(a['category_name']))
        for a in anns
    ])
    ids = np.array([instance_ids[a['instance_token']] for a in anns])
    return boxes, labels, ids


def make_data_sample(nusc, scene, sample, frame_idx, boxes, labels, ids,
                     scores=None):
    """A ``Det3DDataSample.to_dict()`` as the host model's test step gives."""
    log = nusc.get('log', scene['log_token'])
    data_sample = Det3DDataSample(
        metainfo=dict(
            token=sample['token'],
            scene_name=scene['name'],
            location=log['location'],
            timestamp=sample['timestamp'],
            lidar2global=lidar2global(nusc, sample).tolist(),
            frame_idx=frame_idx))
    track = InstanceData()
    track.bboxes_3d = LiDARInstance3DBoxes(
        torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 9),
        box_dim=9)
    track.scores_3d = torch.as_tensor(
        np.ones(len(boxes)) if scores is None else scores,
        dtype=torch.float32)
    track.labels_3d = torch.as_tensor(labels, dtype=torch.long)
    track.track_ids = torch.as_tensor(ids, dtype=torch.long)
    data_sample.pred_track_3d = track
    return data_sample.to_dict()


@pytest.fixture(scope='session')
def gt_predictions(nusc):
    """``{scene name: [(sample, boxes, labels, ids), ...]}`` for mini_val.

    Returned as raw arrays so that tests can edit them before building the
    data samples with :func:`make_data_sample`.
    """
    from nuscenes.utils.splits import create_splits_scenes
    out = {}
    for name in create_splits_scenes()['mini_val']:
        scene, samples = scene_samples(nusc, name)
        out[name] = (scene, [(s, *gt_tracks(nusc, s)) for s in samples])
    return out


def to_data_samples(nusc, predictions, edit=None):
    """Data samples of ``predictions``; ``edit(scene_name, frame_idx, boxes,
    labels, ids)`` may return changed arrays (or None to drop the sample)."""
    samples = []
    for name, (scene, frames) in predictions.items():
        for idx, (sample, boxes, labels, ids) in enumerate(frames):
            arrays = (boxes.copy(), labels.copy(), ids.copy())
            if edit is not None:
                arrays = edit(name, idx, *arrays)
                if arrays is None:
                    continue
            samples.append(
                make_data_sample(nusc, scene, sample, idx, *arrays))
    return samples


@pytest.fixture(scope='session')
def make_samples(nusc, gt_predictions):
    """``make_samples(edit=None)`` -> GT-as-prediction data samples."""
    return lambda edit=None: to_data_samples(nusc, gt_predictions, edit)


@pytest.fixture(scope='session')
def sample_pose(nusc):
    """``sample_pose(sample) -> 4x4`` LiDAR-to-global from the tables."""
    return lambda sample: lidar2global(nusc, sample)
