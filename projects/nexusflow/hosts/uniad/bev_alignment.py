"""Ego-motion alignment of BEV features between consecutive frames.

The BEV grid is LiDAR-aligned like the map GT: row ``i`` follows LiDAR y and
column ``j`` follows LiDAR x, cell centres at ``min + (index + 0.5) * size``
inside ``pc_range``.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def bev_cell_centers(bev_size: Tuple[int, int],
                     pc_range: Sequence[float],
                     device=None,
                     dtype: torch.dtype = torch.float32) -> Tensor:
    """Metric LiDAR ``(x, y)`` of every BEV cell centre.

    Args:
        bev_size (tuple[int, int]): ``(H, W)`` of the grid.
        pc_range (Sequence[float]): ``[x_min, y_min, z_min, x_max, y_max,
            z_max]``.
        device (torch.device, optional): device of the result.
        dtype (torch.dtype): dtype of the result.

    Returns:
        Tensor: ``(H, W, 2)``, last dim ``(x, y)``.
    """
    height, width = bev_size
    x_min, y_min, _, x_max, y_max, _ = pc_range
    xs = torch.linspace(0.5, width - 0.5, width, device=device, dtype=dtype)
    ys = torch.linspace(0.5, height - 0.5, height, device=device,
                        dtype=dtype)
    xs = xs / width * (x_max - x_min) + x_min
    ys = ys / height * (y_max - y_min) + y_min
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([grid_x, grid_y], dim=-1)


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


def warp_bev(prev_bev: Tensor, prev2curr: Tensor,
             pc_range: Sequence[float]) -> Tensor:
    """Resamples the previous BEV feature onto the current BEV grid.

    A static world point at cell ``p`` of the previous grid lands at
    ``prev2curr @ p`` in the current frame; each current cell reads the
    previous feature at ``inv(prev2curr) @ cell`` (bilinear, zeros outside
    the previous grid). Only the planar part (x, y, yaw) of the motion is
    used, since the BEV has no height axis.

    Args:
        prev_bev (Tensor): ``(B, C, H, W)`` previous BEV feature.
        prev2curr (Tensor): ``(B, 4, 4)`` previous-to-current LiDAR
            transform (see :func:`relative_pose`).
        pc_range (Sequence[float]): the BEV extent, see
            :func:`bev_cell_centers`.

    Returns:
        Tensor: ``(B, C, H, W)`` previous feature in the current frame.
    """
    if prev_bev.dim() != 4:
        raise ValueError(f'warp_bev: prev_bev must be (B, C, H, W), got '
                         f'{tuple(prev_bev.shape)}')
    batch, _, height, width = prev_bev.shape
    if tuple(prev2curr.shape) != (batch, 4, 4):
        raise ValueError(f'warp_bev: prev2curr must be ({batch}, 4, 4), got '
                         f'{tuple(prev2curr.shape)}')
    curr2prev = torch.linalg.inv(prev2curr.double())
    centers = bev_cell_centers((height, width), pc_range,
                               device=prev_bev.device, dtype=torch.float64)
    rot, trans = curr2prev[:, :2, :2], curr2prev[:, :2, 3]
    points = torch.einsum('bij,hwj->bhwi', rot, centers) + trans[:, None,
                                                                 None]
    x_min, y_min, _, x_max, y_max, _ = pc_range
    # align_corners=False: -1 and 1 are the outer edges of the grid, so the
    # extent maps linearly onto [-1, 1].
    grid = torch.stack([(points[..., 0] - x_min) / (x_max - x_min),
                        (points[..., 1] - y_min) / (y_max - y_min)], -1)
    grid = (grid * 2 - 1).to(prev_bev.dtype)
    return F.grid_sample(prev_bev, grid, mode='bilinear',
                         padding_mode='zeros', align_corners=False)
