"""Track-head box encoding and the 3D box L1 matching cost."""
from typing import Optional, Sequence

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmdet3d.registry import TASK_UTILS

# Regression layout of the track head: centre (x, y, z gravity centre),
# log size (l, w, h), heading as (sin, cos), velocity (vx, vy).
CODE_SIZE = 10


def encode_boxes(boxes: Tensor) -> Tensor:
    """LiDAR boxes to regression targets.

    Args:
        boxes (Tensor): ``(N, 9)`` ``(x, y, z_bottom, l, w, h, yaw, vx,
            vy)``, the ``LiDARInstance3DBoxes`` layout.

    Returns:
        Tensor: ``(N, 10)`` ``(x, y, z_center, log l, log w, log h, sin yaw,
        cos yaw, vx, vy)``.
    """
    if boxes.dim() != 2 or boxes.shape[1] != 9:
        raise ValueError(f'encode_boxes: expected (N, 9) boxes (x, y, '
                         f'z_bottom, l, w, h, yaw, vx, vy), got '
                         f'{tuple(boxes.shape)}')
    size = boxes[:, 3:6].clamp(min=1e-3)
    center_z = boxes[:, 2:3] + boxes[:, 5:6] / 2
    yaw = boxes[:, 6:7]
    return torch.cat([boxes[:, :2], center_z, size.log(), yaw.sin(),
                      yaw.cos(), boxes[:, 7:9]], dim=1)


def decode_boxes(codes: Tensor) -> Tensor:
    """Inverse of :func:`encode_boxes`.

    Args:
        codes (Tensor): ``(N, 10)`` regression outputs.

    Returns:
        Tensor: ``(N, 9)`` LiDAR boxes ``(x, y, z_bottom, l, w, h, yaw, vx,
        vy)``.
    """
    size = codes[:, 3:6].exp()
    bottom = codes[:, 2:3] - size[:, 2:3] / 2
    yaw = torch.atan2(codes[:, 6:7], codes[:, 7:8])
    return torch.cat([codes[:, :2], bottom, size, yaw, codes[:, 8:10]],
                     dim=1)


def uniad_codes_to_lidar(codes: Tensor) -> Tensor:
    """UniAD's box codes to the :func:`encode_boxes` layout.

    UniAD's regression layout is ``(x, y, log w, log l, z_center, log h,
    sin yaw', cos yaw', vx, vy)`` with mmdet3d 0.17's LiDAR yaw ``yaw'``;
    mmdet3d 1.x's yaw is ``-yaw' - pi/2``, so ``sin yaw = -cos yaw'`` and
    ``cos yaw = -sin yaw'``. The map is a signed permutation, hence exact
    and differentiable.

    Args:
        codes (Tensor): ``(..., 10)`` UniAD codes.

    Returns:
        Tensor: ``(..., 10)`` codes as :func:`encode_boxes` makes them.
    """
    if codes.shape[-1] != CODE_SIZE:
        raise ValueError(f'uniad_codes_to_lidar: expected (..., '
                         f'{CODE_SIZE}) codes, got {tuple(codes.shape)}')
    return torch.cat([codes[..., 0:2], codes[..., 4:5], codes[..., 3:4],
                      codes[..., 2:3], codes[..., 5:6], -codes[..., 7:8],
                      -codes[..., 6:7], codes[..., 8:10]], dim=-1)


@TASK_UTILS.register_module()
class Box3DL1Cost:
    """L1 matching cost between encoded 3D boxes (centre, size, heading;
    velocity excluded as in BEVFormer/UniAD).

    Args:
        weight (float): cost weight. Defaults to 1.0.
        dims (Sequence[int]): code dimensions compared. Defaults to the
            first 8 of :func:`encode_boxes`.
    """

    def __init__(self, weight: float = 1.0,
                 dims: Optional[Sequence[int]] = None) -> None:
        self.weight = weight
        self.dims = list(range(8)) if dims is None else list(dims)

    def __call__(self, pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None, **kwargs) -> Tensor:
        """Cost matrix.

        Args:
            pred_instances (InstanceData): ``bboxes`` ``(num_preds, 10)``.
            gt_instances (InstanceData): ``bboxes`` ``(num_gts, 10)``.
            img_meta (dict, optional): unused.

        Returns:
            Tensor: ``(num_preds, num_gts)``.
        """
        pred = pred_instances.bboxes[:, self.dims]
        gt = gt_instances.bboxes[:, self.dims]
        return torch.cdist(pred, gt, p=1) * self.weight
