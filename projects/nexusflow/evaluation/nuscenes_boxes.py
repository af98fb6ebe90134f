"""LiDAR-frame mmdet3d boxes <-> nuScenes global boxes.

mmdet3d's ``LiDARInstance3DBoxes`` (box_dim 9) store the bottom centre
``x, y, z``, the size ``l, w, h``, the yaw about +z (0 along +x) and the
velocity ``vx, vy`` in the LiDAR frame. The nuScenes devkit expects, in the
global frame, the gravity centre, the size as ``w, l, h``, a ``[w, x, y, z]``
quaternion and the planar velocity. The conversion is the one mmdet3d's
``NuScenesMetric`` applies (LiDAR box rotated by the full sensor-to-global
rotation, composed as quaternions), with ``lidar2global`` given as one 4x4
matrix.
"""
from typing import Dict

import numpy as np
import torch

from ..structures.poses import (matrix_to_quaternion, quaternion_multiply,
                                yaw_quaternions)


def check_pose(lidar2global, owner: str = 'lidar2global') -> np.ndarray:
    """Validates a 4x4 rigid transform and returns it as float64.

    Args:
        lidar2global (array-like): 4x4 homogeneous LiDAR-to-global matrix.
        owner (str): what the matrix is, used in error messages.

    Returns:
        np.ndarray: (4, 4) float64 matrix.

    Raises:
        ValueError: when it is not 4x4, not finite, or its rotation part is
            not orthonormal to 1e-3.
    """
    mat = np.asarray(lidar2global, dtype=np.float64)
    if mat.shape != (4, 4) or not np.isfinite(mat).all():
        raise ValueError(f'{owner} must be a finite 4x4 matrix, got shape '
                         f'{mat.shape}')
    rot = mat[:3, :3]
    if not np.allclose(rot @ rot.T, np.eye(3), atol=1e-3):
        raise ValueError(f'{owner} must be a rigid transform; its 3x3 '
                         f'rotation is not orthonormal:\n{rot}')
    return mat


def lidar_boxes_to_global(boxes: torch.Tensor,
                          lidar2global) -> Dict[str, np.ndarray]:
    """Converts LiDAR-frame boxes to nuScenes global boxes.

    Args:
        boxes (Tensor | np.ndarray): (N, 9) ``x, y, z (bottom centre), l, w,
            h, yaw, vx, vy`` in the LiDAR frame, e.g.
            ``LiDARInstance3DBoxes.tensor``.
        lidar2global (array-like): 4x4 LiDAR-to-global transform.

    Returns:
        dict[str, np.ndarray]: ``translation`` (N, 3) gravity centres,
        ``size`` (N, 3) as ``w, l, h``, ``rotation`` (N, 4) ``[w, x, y, z]``
        quaternions and ``velocity`` (N, 2), all in the global frame.

    Raises:
        ValueError: when ``boxes`` is not (N, 9) or the pose is invalid.
    """
    if isinstance(boxes, torch.Tensor):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 9:
        raise ValueError(f'boxes must be (N, 9) = x, y, z, l, w, h, yaw, vx, '
                         f'vy in the LiDAR frame, got shape {boxes.shape}')
    pose = check_pose(lidar2global)
    rot, trans = pose[:3, :3], pose[:3, 3]

    centre = boxes[:, :3].copy()
    centre[:, 2] += boxes[:, 5] / 2  # bottom centre -> gravity centre
    velocity = np.concatenate([boxes[:, 7:9], np.zeros((len(boxes), 1))], 1)
    return dict(
        translation=centre @ rot.T + trans,
        size=boxes[:, [4, 3, 5]],
        rotation=quaternion_multiply(
            matrix_to_quaternion(rot, orthonormalize=True),
            yaw_quaternions(boxes[:, 6])),
        velocity=(velocity @ rot.T)[:, :2])


def global_boxes_to_lidar(translation, size, rotation, velocity,
                          lidar2global) -> np.ndarray:
    """Inverse of :func:`lidar_boxes_to_global` (yaw-only in the LiDAR frame).

    The global box is rotated into the LiDAR frame and its heading projected
    onto the LiDAR x-y plane, which is exact when the sensor is level, as
    mmdet3d's converters assume.

    Args:
        translation (array-like): (N, 3) global gravity centres.
        size (array-like): (N, 3) ``w, l, h``.
        rotation (array-like): (N, 4) ``[w, x, y, z]`` quaternions.
        velocity (array-like): (N, 2) or (N, 3) global velocities; NaN (as
            the devkit returns for single-frame tracks) becomes 0.
        lidar2global (array-like): 4x4 LiDAR-to-global transform.

    Returns:
        np.ndarray: (N, 9) ``x, y, z (bottom centre), l, w, h, yaw, vx, vy``.
    """
    pose = check_pose(lidar2global)
    rot, trans = pose[:3, :3], pose[:3, 3]
    translation = np.asarray(translation, dtype=np.float64).reshape(-1, 3)
    size = np.asarray(size, dtype=np.float64).reshape(-1, 3)
    rotation = np.asarray(rotation, dtype=np.float64).reshape(-1, 4)
    velocity = np.nan_to_num(
        np.asarray(velocity, dtype=np.float64).reshape(len(translation), -1))
    velocity = np.concatenate(
        [velocity[:, :2], np.zeros((len(velocity), 1))], 1)

    centre = (translation - trans) @ rot
    centre[:, 2] -= size[:, 2] / 2
    # Heading = the box's local +x axis rotated into the LiDAR frame.
    w, x, y, z = (rotation /
                  np.linalg.norm(rotation, axis=1, keepdims=True)).T
    heading = np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)
    ], axis=1) @ rot
    yaw = np.arctan2(heading[:, 1], heading[:, 0])
    vel = (velocity @ rot)[:, :2]
    return np.concatenate(
        [centre, size[:, [1, 0, 2]], yaw[:, None], vel], axis=1)
