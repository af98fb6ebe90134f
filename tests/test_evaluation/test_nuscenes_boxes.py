import numpy as np
import pytest
import torch
from pyquaternion import Quaternion

from mmdet3d.structures import LiDARInstance3DBoxes
from nexusflow.evaluation import global_boxes_to_lidar, lidar_boxes_to_global


def rotation_matrices(quats):
    return np.stack([Quaternion(q).rotation_matrix for q in quats])


def test_gt_round_trip_matches_sample_annotation(nusc, sample_pose):
    """devkit sample_annotation -> LiDAR box (float32, as the model holds
    it) -> our global conversion == the devkit record, to 1e-4."""
    checked = 0
    for sample in nusc.sample:
        anns = [nusc.get('sample_annotation', t) for t in sample['anns']]
        if not anns:
            continue
        velocity = np.array([nusc.box_velocity(a['token']) for a in anns])
        pose = sample_pose(sample)
        lidar = global_boxes_to_lidar([a['translation'] for a in anns],
                                      [a['size'] for a in anns],
                                      [a['rotation'] for a in anns],
                                      velocity, pose)
        boxes = LiDARInstance3DBoxes(torch.as_tensor(lidar), box_dim=9)
        glob = lidar_boxes_to_global(boxes.tensor, pose)

        np.testing.assert_allclose(
            glob['translation'], [a['translation'] for a in anns], atol=1e-4)
        np.testing.assert_allclose(
            glob['size'], [a['size'] for a in anns], atol=1e-4)
        np.testing.assert_allclose(
            rotation_matrices(glob['rotation']),
            rotation_matrices([a['rotation'] for a in anns]),
            atol=1e-4)
        moving = ~np.isnan(velocity[:, 0])
        np.testing.assert_allclose(
            glob['velocity'][moving], velocity[moving, :2], atol=1e-4)
        checked += len(anns)
    assert checked > 20


def test_forward_matches_devkit_box_transform():
    """Same result as mmdet3d's route through ``nuscenes.utils.data_classes.
    Box`` (rotate/translate by lidar2ego, then ego2global), here with a
    tilted sensor and ego so that the full 3D rotation matters."""
    from nuscenes.utils.data_classes import Box

    rng = np.random.default_rng(0)
    lidar = np.concatenate([
        rng.uniform(-40, 40, (6, 3)),
        rng.uniform(0.5, 10, (6, 3)),
        rng.uniform(-np.pi, np.pi, (6, 1)),
        rng.uniform(-5, 5, (6, 2))
    ], axis=1)
    lidar2ego_q = Quaternion(axis=[0.1, -0.05, 1.0], angle=-1.5)
    ego2global_q = Quaternion(axis=[0.02, 0.03, 1.0], angle=2.4)
    lidar2ego_t = np.array([0.9, 0.1, 1.8])
    ego2global_t = np.array([410.3, 1180.7, 0.2])
    pose = np.eye(4)
    pose[:3, :3] = (ego2global_q * lidar2ego_q).rotation_matrix
    pose[:3, 3] = ego2global_q.rotate(lidar2ego_t) + ego2global_t

    glob = lidar_boxes_to_global(torch.as_tensor(lidar), pose)
    for i, row in enumerate(lidar):
        box = Box(
            center=[row[0], row[1], row[2] + row[5] / 2],
            size=row[[4, 3, 5]],
            orientation=Quaternion(axis=[0, 0, 1], radians=row[6]),
            velocity=(row[7], row[8], 0.0))
        box.rotate(lidar2ego_q)
        box.translate(lidar2ego_t)
        box.rotate(ego2global_q)
        box.translate(ego2global_t)
        np.testing.assert_allclose(glob['translation'][i], box.center,
                                   atol=1e-6)
        np.testing.assert_allclose(glob['size'][i], box.wlh, atol=1e-9)
        np.testing.assert_allclose(
            Quaternion(glob['rotation'][i]).rotation_matrix,
            box.orientation.rotation_matrix,
            atol=1e-9)
        np.testing.assert_allclose(glob['velocity'][i], box.velocity[:2],
                                   atol=1e-9)


def test_empty_boxes_and_bad_input():
    out = lidar_boxes_to_global(torch.zeros(0, 9), np.eye(4))
    assert out['translation'].shape == (0, 3)
    assert out['rotation'].shape == (0, 4)
    with pytest.raises(ValueError, match=r'\(N, 9\)'):
        lidar_boxes_to_global(torch.zeros(2, 7), np.eye(4))
    with pytest.raises(ValueError, match='4x4'):
        lidar_boxes_to_global(torch.zeros(2, 9), np.eye(3))
    skewed = np.eye(4)
    skewed[0, 1] = 0.5
    with pytest.raises(ValueError, match='rigid'):
        lidar_boxes_to_global(torch.zeros(2, 9), skewed)
