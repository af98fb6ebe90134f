"""Ego motion between consecutive frames, for carrying tracks over."""
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
