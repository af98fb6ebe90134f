"""BEVFormer's ego-motion compensation of the BEV between two frames.

BEVFormer does not warp the previous BEV by the full rigid motion. It

* shifts the 2-D reference points of its temporal self-attention by the
  translation since the previous frame (:func:`bev_shift`), and
* rotates the previous BEV image by the yaw change about a fixed pixel centre
  with nearest-neighbour sampling and zero fill (:func:`rotate_bev`, the
  same mapping as ``torchvision.transforms.functional.rotate``).

Both read the 18-value CAN-bus vector in its per-frame delta form (see
:mod:`nexusflow.structures.can_bus`): ``[0:2]`` the global translation since
the previous frame, ``[16]`` the current ego yaw in radians and ``[17]`` the
yaw change in degrees.
"""
import math
from typing import Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def bev_shift(can_bus: Union[Tensor, np.ndarray], bev_size: Tuple[int, int],
              pc_range: Sequence[float]) -> Tensor:
    """BEVFormer's reference-point shift from the ego translation.

    With ``L = |can_bus[0:2]|``, ``a`` the direction of that translation and
    ``yaw = can_bus[16]``, the shift in normalised BEV units is
    ``(L sin(yaw - a) / real_w, L cos(yaw - a) / real_h)`` as ``(x, y)``
    (``real_* = bev_* x grid length`` is the metric extent). It is computed
    in float64, as the official numpy code does.

    Args:
        can_bus (Tensor | np.ndarray): ``(B, 18)`` delta CAN-bus vectors.
        bev_size (tuple[int, int]): ``(H, W)`` of the BEV grid.
        pc_range (Sequence[float]): ``[x_min, y_min, z_min, x_max, y_max,
            z_max]``.

    Returns:
        Tensor: ``(B, 2)`` float64 shift ``(x, y)`` on the device of
        ``can_bus`` (CPU for arrays).
    """
    can_bus = torch.as_tensor(can_bus).to(torch.float64)
    if can_bus.dim() != 2 or can_bus.shape[1] != 18:
        raise ValueError(f'bev_shift: can_bus must be (B, 18), got '
                         f'{tuple(can_bus.shape)}')
    height, width = bev_size
    grid_h = (pc_range[4] - pc_range[1]) / height
    grid_w = (pc_range[3] - pc_range[0]) / width
    dx, dy = can_bus[:, 0], can_bus[:, 1]
    length = torch.sqrt(dx**2 + dy**2)
    # Degrees and back, as the official code, so the rounding matches.
    yaw_deg = can_bus[:, 16] / math.pi * 180
    move_deg = torch.atan2(dy, dx) / math.pi * 180
    angle = (yaw_deg - move_deg) / 180 * math.pi
    shift_y = length * torch.cos(angle) / grid_h / height
    shift_x = length * torch.sin(angle) / grid_w / width
    return torch.stack([shift_x, shift_y], dim=-1)


def rotation_grid(angle_deg: float, size: Tuple[int, int],
                  center: Sequence[float], dtype: torch.dtype,
                  device=None) -> Tensor:
    """Sampling grid of an image rotation by ``angle_deg`` about
    ``center``.

    The rotation is counter-clockwise as the image is displayed (rows
    downwards): output pixel ``(x, y)`` (column, row; relative to
    ``center``) reads the input at ``R(angle) (x, y)``. In the BEV, where
    columns follow LiDAR x and rows LiDAR y, this is the counter-clockwise
    rotation of the plane, which re-expresses the previous BEV in an ego
    frame turned by ``angle``. The arithmetic follows torchvision's tensor
    ``rotate`` (inverse matrix in float64, cast to ``dtype``, applied to
    pixel centres measured from the image centre, normalised by half the
    size) so nearest-neighbour picks agree with it bit for bit.

    Args:
        angle_deg (float): rotation angle in degrees.
        size (tuple[int, int]): ``(H, W)`` of the image.
        center (Sequence[float]): ``(x, y)`` rotation centre in pixels.
        dtype (torch.dtype): grid dtype.
        device (torch.device, optional): grid device.

    Returns:
        Tensor: ``(1, H, W, 2)`` grid for ``grid_sample`` with
        ``align_corners=False``.
    """
    height, width = size
    # Centre relative to the image centre.
    cx = float(center[0]) - width * 0.5
    cy = float(center[1]) - height * 0.5
    theta = math.radians(angle_deg)
    cos, sin = math.cos(theta), math.sin(theta)
    # Input position p_in = A (p_out - c) + c, as one 2x3 matrix.
    mat = [cos, -sin, 0.0, sin, cos, 0.0]
    mat[2] = mat[0] * -cx + mat[1] * -cy + cx
    mat[5] = mat[3] * -cx + mat[4] * -cy + cy
    mat = torch.tensor(mat, dtype=dtype, device=device).view(2, 3)
    xs = torch.linspace(-width * 0.5 + 0.5, width * 0.5 - 0.5, width,
                        dtype=dtype, device=device)
    ys = torch.linspace(-height * 0.5 + 0.5, height * 0.5 - 0.5, height,
                        dtype=dtype, device=device)
    base = torch.empty(1, height, width, 3, dtype=dtype, device=device)
    base[..., 0] = xs
    base[..., 1] = ys[:, None]
    base[..., 2] = 1
    half = torch.tensor([0.5 * width, 0.5 * height], dtype=dtype,
                        device=device)
    scaled = mat.t()[None] / half
    return base.view(1, height * width, 3).bmm(scaled).view(
        1, height, width, 2)


def rotate_bev(bev: Tensor, angles_deg: Union[Tensor, Sequence[float]],
               center: Sequence[float]) -> Tensor:
    """Rotates each BEV image about ``center``, nearest neighbour, zero fill.

    Equivalent to ``torchvision.transforms.functional.rotate(bev[b],
    angles_deg[b], center=center)`` (default nearest interpolation, no
    expansion, fill 0) for every sample, which is what BEVFormer does to
    the previous BEV.

    Args:
        bev (Tensor): ``(B, C, H, W)``.
        angles_deg (Tensor | Sequence[float]): ``(B,)`` angles in degrees.
        center (Sequence[float]): ``(x, y)`` rotation centre in pixels
            (BEVFormer's ``rotate_center``).

    Returns:
        Tensor: ``(B, C, H, W)`` rotated copy.
    """
    if bev.dim() != 4:
        raise ValueError(f'rotate_bev: bev must be (B, C, H, W), got '
                         f'{tuple(bev.shape)}')
    angles = [float(a) for a in torch.as_tensor(angles_deg).reshape(-1)]
    if len(angles) != bev.shape[0]:
        raise ValueError(f'rotate_bev: {len(angles)} angles for a batch of '
                         f'{bev.shape[0]}')
    dtype = bev.dtype if bev.is_floating_point() else torch.float32
    out = []
    for sample, angle in zip(bev, angles):
        grid = rotation_grid(angle, tuple(bev.shape[-2:]), center, dtype,
                             bev.device)
        out.append(F.grid_sample(sample[None].to(dtype), grid,
                                 mode='nearest', padding_mode='zeros',
                                 align_corners=False))
    return torch.cat(out).to(bev.dtype)
