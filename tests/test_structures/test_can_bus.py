"""BEVFormer's 18-value CAN-bus vector: layout, deltas, expansion
messages."""
import math

import numpy as np
import pytest
from pyquaternion import Quaternion

from nexusflow.structures import (CAN_BUS_DIMS, can_bus_delta,
                                  can_bus_from_messages, can_bus_vector,
                                  transform_matrix)


@pytest.mark.parametrize('yaw', [0.0, 0.4, 2.9, -0.3, -2.0])
def test_vector_from_an_ego_pose(yaw):
    rotation = Quaternion(axis=[0, 0, 1], radians=yaw).elements
    ego2global = transform_matrix(rotation, [600.5, 1650.25, 0.1])
    expansion = np.arange(CAN_BUS_DIMS, dtype=np.float64) + 100
    vec = can_bus_vector(ego2global, rotation=rotation, expansion=expansion)
    assert vec.shape == (18, ) and vec.dtype == np.float64
    assert vec[0:3].tolist() == [600.5, 1650.25, 0.1]
    assert vec[3:7].tolist() == list(rotation)
    assert vec[7:16].tolist() == list(expansion[7:16])
    # Yaw in [0, 2 pi) radians, and in degrees.
    assert 0 <= vec[16] < 2 * math.pi
    assert vec[16] == pytest.approx(yaw % (2 * math.pi))
    assert vec[17] == pytest.approx(math.degrees(yaw % (2 * math.pi)))
    # Without the recorded quaternion or the expansion: the matrix's
    # quaternion (w >= 0) and zero CAN-bus values.
    plain = can_bus_vector(ego2global)
    assert plain[7:16].tolist() == [0.0] * 9
    quat = rotation if rotation[0] >= 0 else -rotation
    assert plain[3:7] == pytest.approx(quat)
    assert plain[16:].tolist() == vec[16:].tolist()


def test_delta_since_the_previous_frame():
    first = np.arange(18, dtype=np.float64)
    second = first + 1.5
    second[17] = 350.0
    out = can_bus_delta(first, None)
    assert out[0:3].tolist() == [0, 0, 0] and out[17] == 0
    assert out[3:17].tolist() == first[3:17].tolist()
    out = can_bus_delta(second, first)
    assert out[0:3].tolist() == [1.5, 1.5, 1.5]
    assert out[17] == 350.0 - 17.0
    assert out[3:17].tolist() == second[3:17].tolist()
    assert second[0] == 1.5  # inputs untouched


def message(utime, base):
    return dict(utime=utime, pos=[base, base + 1, base + 2],
                orientation=[base + 3, 0, 0, 0],
                accel=[base + 10] * 3, rotation_rate=[base + 20] * 3,
                vel=[base + 30] * 3)


def test_expansion_messages_as_the_official_converter_reads_them():
    messages = [message(100, 0.0), message(200, 1.0), message(300, 2.0)]
    out = can_bus_from_messages(messages, 250)
    # Pose from the last message at or before the sample, the rest from
    # the next one (the official loop's variable after its break).
    assert out[0:3].tolist() == [1, 2, 3] and out[3] == 4
    assert out[7:10].tolist() == [12] * 3
    assert out[10:13].tolist() == [22] * 3
    assert out[13:16].tolist() == [32] * 3
    assert out[16:].tolist() == [0, 0]
    # Before the first and after the last message.
    assert can_bus_from_messages(messages, 50)[7] == 10
    assert can_bus_from_messages(messages, 999)[0] == 2
    assert can_bus_from_messages(messages, 999)[7] == 12
    assert not can_bus_from_messages([], 5).any()
