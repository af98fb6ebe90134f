"""Quaternion and rigid-transform helpers against pyquaternion."""
import math

import numpy as np
import pytest
from pyquaternion import Quaternion

from nexusflow.structures import (matrix_to_quaternion, quaternion_multiply,
                                  rigid_inverse, transform_matrix,
                                  yaw_quaternion, yaw_quaternions)


def test_yaw_quaternions_rotate_about_z():
    yaws = np.array([-2.5, 0.0, 0.7, math.pi])
    batch = yaw_quaternions(yaws)
    for yaw, quat in zip(yaws, batch):
        expected = Quaternion(axis=[0, 0, 1], radians=yaw).elements
        np.testing.assert_allclose(yaw_quaternion(yaw), expected, atol=1e-15)
        np.testing.assert_allclose(quat, expected, atol=1e-15)


def test_product_and_matrix_round_trip():
    q = Quaternion(axis=[0.1, -0.3, 1.0], angle=1.1)
    r = Quaternion(axis=[0.5, 0.2, 0.4], angle=-0.6)
    np.testing.assert_allclose(quaternion_multiply(q.elements, r.elements),
                               (q * r).elements, atol=1e-15)
    mat = transform_matrix(q.elements, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(mat[:3, :3], q.rotation_matrix)
    np.testing.assert_allclose(mat[:3, 3], [1, 2, 3])
    np.testing.assert_allclose(matrix_to_quaternion(mat[:3, :3]),
                               q.elements, atol=1e-12)
    np.testing.assert_allclose(mat @ rigid_inverse(mat), np.eye(4),
                               atol=1e-12)


def test_orthonormalize_accepts_a_slightly_off_rotation():
    q = Quaternion(axis=[0.0, 0.2, 1.0], angle=2.0)
    rot = q.rotation_matrix + 1e-5  # like a pose that went through float32
    with pytest.raises(ValueError, match='orthogonal'):
        matrix_to_quaternion(rot)
    np.testing.assert_allclose(
        matrix_to_quaternion(rot, orthonormalize=True), q.elements,
        atol=1e-4)
