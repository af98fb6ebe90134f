"""Ego motion between consecutive frames, for carrying tracks over, and
the ego vehicle's own box."""
import math
from typing import Sequence

import torch
from torch import Tensor


def relative_pose(prev_lidar2global: Tensor,
                  curr_lidar2global: Tensor) -> Tensor:
    """Transform from the previous LiDAR frame to the current one.

    Args:
        prev_lidar2global (Tensor): ``(..., 4, 4)`` pose of the previous
            frame.
        curr_lidar2global (Tensor): ``(..., 4, 4)`` pose of the current
            frame.

    Returns:
        Tensor: ``(..., 4, 4)`` ``prev2curr = inv(curr) @ prev``, in the
        dtype of the inputs (pass float64 poses: global translations are
        kilometres, which float32 resolves only to millimetres).
    """
    return torch.linalg.inv(curr_lidar2global) @ prev_lidar2global


#: UniAD's ego (SDC) box size ``(l, w, h)`` in metres (the nuScenes car).
EGO_SIZE = (4.08, 1.73, 1.56)


def ego_gt_box(lidar2ego: Tensor, velocity: Tensor,
               size: Sequence[float] = EGO_SIZE) -> Tensor:
    """The ego vehicle's box in the LiDAR frame, UniAD's ego-query target.

    UniAD centres a fixed-size box on the LiDAR origin, heading along the
    ego's forward axis (in nuScenes' LiDAR frame +y, i.e. yaw pi/2), moving
    at the ego velocity. The heading is read from ``lidar2ego`` here, so
    other rigs get their own forward axis.

    Args:
        lidar2ego (Tensor): ``(4, 4)`` LiDAR-to-ego transform.
        velocity (Tensor): ``(2, )`` ego velocity in the LiDAR frame.
        size (Sequence[float]): ``(l, w, h)``. Defaults to :data:`EGO_SIZE`.

    Returns:
        Tensor: ``(1, 9)`` ``(x, y, z_bottom, l, w, h, yaw, vx, vy)``
        float32.
    """
    forward = lidar2ego[:3, :3].double().T @ lidar2ego.new_tensor(
        [1.0, 0.0, 0.0]).double()
    yaw = math.atan2(float(forward[1]), float(forward[0]))
    length, width, height = (float(v) for v in size)
    vx, vy = (float(v) for v in velocity)
    return torch.tensor([[0.0, 0.0, -height / 2, length, width, height, yaw,
                          vx, vy]])
