"""Yaw-only rigid transforms, level cameras and point-in-box tests for the
synthetic scenes (every object and sensor stands level on flat ground)."""
import math
from typing import Sequence

import numpy as np


def pose_matrix(yaw: float, translation: Sequence[float]) -> np.ndarray:
    """A 4x4 transform from a yaw and a translation.

    Args:
        yaw (float): rotation about +z in radians.
        translation (Sequence[float]): ``(x, y, z)``.

    Returns:
        np.ndarray: the homogeneous transform.
    """
    mat = np.eye(4)
    c, s = math.cos(yaw), math.sin(yaw)
    mat[:2, :2] = [[c, -s], [s, c]]
    mat[:3, 3] = translation
    return mat


def camera_to_ego(yaw: float, translation: Sequence[float]) -> np.ndarray:
    """A level camera's camera-to-ego transform.

    Args:
        yaw (float): viewing direction in the ego frame (radians).
        translation (Sequence[float]): mount position in the ego frame.

    Returns:
        np.ndarray: 4x4 transform; the camera frame has x right, y down and
        z forward, as in nuScenes.
    """
    forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    mat = np.eye(4)
    mat[:3, :3] = np.stack([right, [0.0, 0.0, -1.0], forward], axis=1)
    mat[:3, 3] = translation
    return mat


def points_in_boxes(points: np.ndarray, centres: np.ndarray,
                    yaws: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Which points lie inside which yaw-rotated boxes (boundary included).

    Args:
        points (np.ndarray): ``(N, 3)`` positions.
        centres (np.ndarray): ``(M, 3)`` box centres.
        yaws (np.ndarray): ``(M,)`` headings.
        sizes (np.ndarray): ``(M, 3)`` as ``(width, length, height)``.

    Returns:
        np.ndarray: ``(N, M)`` bool.
    """
    if len(centres) == 0:
        return np.zeros((len(points), 0), bool)
    rel = points[:, None, :] - centres[None]
    c, s = np.cos(yaws)[None], np.sin(yaws)[None]
    along = rel[..., 0] * c + rel[..., 1] * s
    across = -rel[..., 0] * s + rel[..., 1] * c
    # The 1e-6 slack keeps points generated on a face inside the box.
    return ((np.abs(along) <= sizes[None, :, 1] / 2 + 1e-6)
            & (np.abs(across) <= sizes[None, :, 0] / 2 + 1e-6)
            & (np.abs(rel[..., 2]) <= sizes[None, :, 2] / 2 + 1e-6))


def box_corners(centre: np.ndarray, yaw: float,
                size: Sequence[float]) -> np.ndarray:
    """The eight corners of a yaw-rotated box.

    Args:
        centre (np.ndarray): ``(3,)`` box centre.
        yaw (float): heading in radians.
        size (Sequence[float]): ``(width, length, height)``.

    Returns:
        np.ndarray: ``(8, 3)`` corners.
    """
    w, l, h = size
    corners = np.array([[x, y, z] for x in (-l / 2, l / 2)
                        for y in (-w / 2, w / 2)
                        for z in (-h / 2, h / 2)])
    return corners @ yaw_rotation(yaw) + centre


def yaw_rotation(yaw: float) -> np.ndarray:
    """The transpose of the 3x3 rotation about +z, for row vectors.

    Args:
        yaw (float): angle in radians.

    Returns:
        np.ndarray: ``(3, 3)``; ``points @ yaw_rotation(yaw)`` rotates
        ``(N, 3)`` points by ``yaw``.
    """
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])
