"""BEVFormer's reference points: 2-D BEV cell centres for the temporal
self-attention and 3-D pillar points projected into the cameras for the
spatial cross-attention.

BEV query ``q = h * W + w`` is cell ``(h, w)``; ``w`` runs along LiDAR x and
``h`` along LiDAR y. The arithmetic (float32, normalise then scale, strict
bounds) follows the official code so the camera masks agree exactly.
"""
from typing import Sequence, Tuple

import torch
from torch import Tensor


def bev_reference_points(bev_size: Tuple[int, int], device=None,
                         dtype: torch.dtype = torch.float32) -> Tensor:
    """Normalised BEV cell centres.

    Args:
        bev_size (tuple[int, int]): ``(H, W)``.
        device (torch.device, optional): device of the result.
        dtype (torch.dtype): dtype of the result.

    Returns:
        Tensor: ``(H*W, 2)`` as ``((w + 0.5) / W, (h + 0.5) / H)``.
    """
    height, width = bev_size
    ys = torch.linspace(0.5, height - 0.5, height, dtype=dtype,
                        device=device)
    xs = torch.linspace(0.5, width - 0.5, width, dtype=dtype, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([grid_x.reshape(-1) / width,
                        grid_y.reshape(-1) / height], dim=-1)


def pillar_points(bev_size: Tuple[int, int], pc_range: Sequence[float],
                  num_points: int, device=None,
                  dtype: torch.dtype = torch.float32) -> Tensor:
    """Metric 3-D points of every BEV cell's pillar.

    The heights are ``z_min + linspace(0.5, Z - 0.5, num_points)`` with
    ``Z = z_max - z_min`` (for nuScenes' ``[-5, 3]`` and 4 points: -4.5,
    -2.17, 0.17, 2.5 m).

    Args:
        bev_size (tuple[int, int]): ``(H, W)``.
        pc_range (Sequence[float]): ``[x_min, y_min, z_min, x_max, y_max,
            z_max]``.
        num_points (int): points per pillar.
        device (torch.device, optional): device of the result.
        dtype (torch.dtype): dtype of the result.

    Returns:
        Tensor: ``(num_points, H*W, 3)`` LiDAR ``(x, y, z)``.
    """
    height, width = bev_size
    x_min, y_min, z_min, x_max, y_max, z_max = pc_range
    depth = z_max - z_min
    zs = torch.linspace(0.5, depth - 0.5, num_points, dtype=dtype,
                        device=device) / depth
    xs = torch.linspace(0.5, width - 0.5, width, dtype=dtype,
                        device=device) / width
    ys = torch.linspace(0.5, height - 0.5, height, dtype=dtype,
                        device=device) / height
    shape = (num_points, height, width)
    points = torch.stack([
        xs.view(1, 1, width).expand(shape),
        ys.view(1, height, 1).expand(shape),
        zs.view(num_points, 1, 1).expand(shape)
    ], dim=-1).reshape(num_points, height * width, 3)
    return torch.stack([
        points[..., 0] * (x_max - x_min) + x_min,
        points[..., 1] * (y_max - y_min) + y_min,
        points[..., 2] * (z_max - z_min) + z_min
    ], dim=-1)


def project_pillars(points: Tensor, lidar2img: Tensor,
                    image_shape: Tuple[int, int],
                    eps: float = 1e-5) -> Tuple[Tensor, Tensor]:
    """Projects the pillar points into every camera (in float32).

    Args:
        points (Tensor): ``(D, Q, 3)`` from :func:`pillar_points`.
        lidar2img (Tensor): ``(B, N, 4, 4)`` LiDAR to pixel transforms
            (``[x, y, z, 1] -> [u d, v d, d, 1]``).
        image_shape (tuple[int, int]): ``(h, w)`` the pixel coordinates
            are normalised by (the padded image size).
        eps (float): smallest depth treated as in front of the camera.

    Returns:
        tuple[Tensor, Tensor]: ``(B, N, Q, D, 2)`` normalised ``(u, v)``
        and the ``(B, N, Q, D)`` bool mask: depth > eps and ``0 < u < 1``,
        ``0 < v < 1`` (strict).
    """
    num_points, num_query = points.shape[:2]
    batch, num_cams = lidar2img.shape[:2]
    homo = torch.cat([points, torch.ones_like(points[..., :1])], -1).float()
    homo = homo.view(num_points, 1, 1, num_query, 4, 1)
    mats = lidar2img.float().view(1, batch, num_cams, 1, 4, 4)
    cam = torch.matmul(mats, homo).squeeze(-1)  # (D, B, N, Q, 4)
    depth = cam[..., 2:3]
    mask = depth > eps
    uv = cam[..., 0:2] / torch.maximum(depth, torch.ones_like(depth) * eps)
    uv[..., 0] /= image_shape[1]
    uv[..., 1] /= image_shape[0]
    mask = mask & (uv[..., 1:2] > 0.0) & (uv[..., 1:2] < 1.0) & \
        (uv[..., 0:1] < 1.0) & (uv[..., 0:1] > 0.0)
    return uv.permute(1, 2, 3, 0, 4), mask[..., 0].permute(1, 2, 3, 0)
