"""Level-camera frames, yaw rotations and the point-in-box test."""
import math

import numpy as np

from nexusflow.testing.synthetic_nuscenes.geometry import (box_corners,
                                                           camera_to_ego,
                                                           points_in_boxes,
                                                           pose_matrix)


def test_camera_frame_looks_along_its_yaw():
    mat = camera_to_ego(math.pi / 2, (1.0, 2.0, 1.5))
    rot = mat[:3, :3]
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(rot), 1.0)
    # Camera z (forward) is ego +y, camera y (down) is ego -z.
    np.testing.assert_allclose(rot[:, 2], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(rot[:, 1], [0, 0, -1])
    np.testing.assert_allclose(mat[:3, 3], [1.0, 2.0, 1.5])


def test_pose_matrix_rotates_then_translates():
    mat = pose_matrix(math.pi / 2, (3.0, 0.0, 0.0))
    np.testing.assert_allclose(mat @ [1, 0, 0, 1], [3, 1, 0, 1], atol=1e-12)


def test_points_in_boxes_includes_corners_only_of_their_box():
    centres = np.array([[0.0, 0.0, 1.0], [10.0, 0.0, 1.0]])
    yaws = np.array([0.3, -1.2])
    sizes = np.array([[2.0, 4.0, 2.0], [1.0, 1.0, 1.0]])
    corners = box_corners(centres[0], yaws[0], sizes[0])
    inside = points_in_boxes(corners, centres, yaws, sizes)
    assert inside[:, 0].all() and not inside[:, 1].any()
    outside = corners * 1.01 + [0, 0, 0.1]
    assert not points_in_boxes(outside, centres, yaws, sizes)[:, 0].any()
    assert points_in_boxes(corners, centres[:0], yaws[:0],
                           sizes[:0]).shape == (8, 0)
