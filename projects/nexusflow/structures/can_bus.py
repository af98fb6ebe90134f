"""BEVFormer's 18-value CAN-bus vector.

Layout (as BEVFormer's and UniAD's nuScenes datasets build it):

* ``[0:3]`` ego translation in the global frame (metres). The dataset
  stores the absolute ego2global translation; the model replaces it by the
  translation since the previous frame (:func:`can_bus_delta`), zero at a
  sequence's first frame.
* ``[3:7]`` ego2global rotation quaternion ``[w, x, y, z]``.
* ``[7:10]`` acceleration, ``[10:13]`` rotation rate, ``[13:16]`` velocity,
  from the nuScenes CAN-bus expansion's ``pose`` messages; zeros without
  the expansion.
* ``[16]`` ego yaw in radians in ``[0, 2 pi)``.
* ``[17]`` ego yaw in degrees in ``[0, 360)``; the model replaces it by the
  change since the previous frame (zero at the first frame).

The yaw is that of the ego x axis in the global frame (the devkit's
``quaternion_yaw``).
"""
import math
from typing import Mapping, Optional, Sequence

import numpy as np

from .poses import matrix_to_quaternion

CAN_BUS_DIMS = 18


def can_bus_vector(ego2global: np.ndarray,
                   rotation: Optional[Sequence[float]] = None,
                   expansion: Optional[Sequence[float]] = None) -> np.ndarray:
    """The absolute CAN-bus vector of one frame, as stored by the dataset.

    Args:
        ego2global (np.ndarray): ``(4, 4)`` ego pose of the frame.
        rotation (Sequence[float], optional): the pose's ``[w, x, y, z]``
            quaternion as recorded (nuScenes' ``ego_pose.rotation``); derived
            from ``ego2global`` (with ``w >= 0``) when None.
        expansion (Sequence[float], optional): an 18-vector from the CAN-bus
            expansion (:func:`can_bus_from_messages`); its ``[7:16]`` are
            kept. Zeros when None.

    Returns:
        np.ndarray: ``(18,)`` float64.
    """
    ego2global = np.asarray(ego2global, dtype=np.float64)
    if ego2global.shape != (4, 4):
        raise ValueError(f'can_bus_vector: ego2global must be (4, 4), got '
                         f'{ego2global.shape}')
    can_bus = np.zeros(CAN_BUS_DIMS, dtype=np.float64)
    if expansion is not None:
        expansion = np.asarray(expansion, dtype=np.float64).reshape(-1)
        if expansion.shape != (CAN_BUS_DIMS, ):
            raise ValueError(f'can_bus_vector: expansion must hold '
                             f'{CAN_BUS_DIMS} values, got {expansion.size}')
        can_bus[7:16] = expansion[7:16]
    can_bus[0:3] = ego2global[:3, 3]
    if rotation is None:
        quat = matrix_to_quaternion(ego2global[:3, :3], orthonormalize=True)
        rotation = quat if quat[0] >= 0 else -quat
    can_bus[3:7] = np.asarray(rotation, dtype=np.float64)
    # Radians to degrees and back as the official dataset code does.
    yaw = math.atan2(ego2global[1, 0], ego2global[0, 0]) / np.pi * 180
    if yaw < 0:
        yaw += 360
    can_bus[16] = yaw / 180 * np.pi
    can_bus[17] = yaw
    return can_bus


def can_bus_delta(can_bus: Sequence[float],
                  prev_can_bus: Optional[Sequence[float]]) -> np.ndarray:
    """The vector the model sees: translation ``[0:3]`` and yaw ``[17]``
    relative to the previous frame of the same sequence.

    Args:
        can_bus (Sequence[float]): absolute vector of this frame.
        prev_can_bus (Sequence[float], optional): absolute vector of the
            previous frame; None at a sequence's first frame (the deltas are
            then zero).

    Returns:
        np.ndarray: ``(18,)`` float64 copy.
    """
    out = np.array(can_bus, dtype=np.float64).reshape(-1)
    if out.shape != (CAN_BUS_DIMS, ):
        raise ValueError(f'can_bus_delta: expected {CAN_BUS_DIMS} values, '
                         f'got {out.size}')
    if prev_can_bus is None:
        out[0:3] = 0
        out[17] = 0
        return out
    prev = np.asarray(prev_can_bus, dtype=np.float64).reshape(-1)
    out[0:3] -= prev[0:3]
    out[17] -= prev[17]
    return out


def can_bus_from_messages(messages: Sequence[Mapping[str, object]],
                          timestamp_us: int) -> np.ndarray:
    """An 18-vector from the CAN-bus expansion's ``pose`` messages of one
    scene, as BEVFormer's converter builds it.

    ``[0:3]`` ``pos`` and ``[3:7]`` ``orientation`` come from the last
    message at or before the sample time (the first message if none is).
    ``[7:16]`` are ``accel``, ``rotation_rate`` and ``vel`` of the message
    the official loop stopped at: the first one after the sample time (the
    last message if none is after). ``[16:18]`` are zero (the dataset fills
    the yaw). Without messages (scenes the expansion lacks) all zeros.

    Args:
        messages (Sequence[Mapping]): ``pose`` messages in time order, each
            with ``utime``, ``pos``, ``orientation``, ``accel``,
            ``rotation_rate`` and ``vel``.
        timestamp_us (int): the sample's timestamp in microseconds.

    Returns:
        np.ndarray: ``(18,)`` float64.
    """
    out = np.zeros(CAN_BUS_DIMS, dtype=np.float64)
    if not messages:
        return out
    last, stop = messages[0], messages[-1]
    for message in messages:
        if message['utime'] > timestamp_us:
            stop = message
            break
        last = message
    out[0:3] = last['pos']
    out[3:7] = last['orientation']
    out[7:10] = stop['accel']
    out[10:13] = stop['rotation_rate']
    out[13:16] = stop['vel']
    return out
