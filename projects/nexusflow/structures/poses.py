"""Quaternions in the devkit's ``[w, x, y, z]`` order and 4x4 rigid
transforms.

nuScenes stores every rotation (calibrated sensors, ego poses, boxes) as a
``[w, x, y, z]`` quaternion; the converters turn them into 4x4 matrices, the
tracking metric turns LiDAR boxes back into global quaternions and the
synthetic set writes them. ``pyquaternion`` (a devkit dependency) is imported
only where a function needs it, so importing this module stays cheap.
"""
import math
from typing import List, Sequence

import numpy as np


def yaw_quaternion(yaw: float) -> List[float]:
    """A rotation about +z as a devkit quaternion.

    Args:
        yaw (float): angle in radians.

    Returns:
        list[float]: ``[w, x, y, z]``.
    """
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


def yaw_quaternions(yaws: np.ndarray) -> np.ndarray:
    """Vectorized :func:`yaw_quaternion`.

    Args:
        yaws (np.ndarray): ``(N,)`` angles in radians.

    Returns:
        np.ndarray: ``(N, 4)`` ``[w, x, y, z]`` quaternions.
    """
    half = np.asarray(yaws) / 2
    return np.stack([np.cos(half), np.zeros_like(half), np.zeros_like(half),
                     np.sin(half)], axis=1)


def quaternion_multiply(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Hamilton product ``q * r`` (rotate by ``r``, then by ``q``).

    Args:
        q (np.ndarray): ``(..., 4)`` ``[w, x, y, z]`` quaternions.
        r (np.ndarray): ``(..., 4)`` quaternions, broadcast against ``q``.

    Returns:
        np.ndarray: ``(..., 4)`` products.
    """
    w1, x1, y1, z1 = np.moveaxis(q, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(r, -1, 0)
    return np.stack([
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    ], axis=-1)


def matrix_to_quaternion(rot: np.ndarray,
                         orthonormalize: bool = False) -> np.ndarray:
    """A 3x3 rotation matrix as a ``[w, x, y, z]`` quaternion.

    Args:
        rot (np.ndarray): ``(3, 3)`` rotation.
        orthonormalize (bool): first replace ``rot`` by the nearest
            orthonormal matrix (``U @ Vt`` of its SVD). Poses that went
            through float32 are a few 1e-7 off orthonormal, which
            pyquaternion's check rejects.

    Returns:
        np.ndarray: ``(4,)`` quaternion.
    """
    from pyquaternion import Quaternion
    if orthonormalize:
        u, _, vt = np.linalg.svd(rot)
        rot = u @ vt
    # The tolerance only decides whether pyquaternion accepts the matrix;
    # the quaternion it returns does not depend on it. 1e-6 admits
    # rotations built from float64 trigonometry.
    return Quaternion(matrix=rot, atol=1e-6).elements


def transform_matrix(rotation: Sequence[float],
                     translation: Sequence[float]) -> np.ndarray:
    """4x4 transform from a ``[w, x, y, z]`` quaternion and a translation.

    Args:
        rotation (Sequence[float]): devkit quaternion.
        translation (Sequence[float]): ``(x, y, z)``.

    Returns:
        np.ndarray: ``(4, 4)`` homogeneous transform.
    """
    from pyquaternion import Quaternion
    mat = np.eye(4)
    mat[:3, :3] = Quaternion(rotation).rotation_matrix
    mat[:3, 3] = translation
    return mat


def rigid_inverse(mat: np.ndarray) -> np.ndarray:
    """Inverse of a 4x4 rotation + translation.

    Transposing the rotation is exact, unlike a LAPACK inverse, so poses
    round-trip bit for bit.

    Args:
        mat (np.ndarray): ``(4, 4)`` rigid transform.

    Returns:
        np.ndarray: ``(4, 4)`` inverse.
    """
    out = np.eye(4)
    out[:3, :3] = mat[:3, :3].T
    out[:3, 3] = -mat[:3, :3].T @ mat[:3, 3]
    return out


def ego_velocity(ego2global: np.ndarray, next_ego2global: np.ndarray,
                 lidar2global: np.ndarray, dt: float) -> np.ndarray:
    """The ego vehicle's ground velocity between two key frames, in the
    first frame's LiDAR axes (UniAD's SDC velocity).

    Args:
        ego2global (np.ndarray): ``(4, 4)`` ego pose of the frame.
        next_ego2global (np.ndarray): ``(4, 4)`` ego pose of the next frame.
        lidar2global (np.ndarray): ``(4, 4)`` LiDAR pose of the frame.
        dt (float): seconds between the frames.

    Returns:
        np.ndarray: ``(2, )`` ``(vx, vy)`` in m/s; zero when ``dt <= 0``.
    """
    if dt <= 0:
        return np.zeros(2)
    shift = (np.asarray(next_ego2global, dtype=np.float64)[:3, 3] -
             np.asarray(ego2global, dtype=np.float64)[:3, 3]) / dt
    return (np.asarray(lidar2global, dtype=np.float64)[:3, :3].T @ shift)[:2]
