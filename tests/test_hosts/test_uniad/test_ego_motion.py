"""The previous-to-current LiDAR transform used to carry tracks over."""
import math

import torch

from nexusflow.hosts.uniad import relative_pose


def pose(yaw: float, x: float, y: float) -> torch.Tensor:
    mat = torch.eye(4, dtype=torch.float64)
    mat[:2, :2] = torch.tensor([[math.cos(yaw), -math.sin(yaw)],
                                [math.sin(yaw), math.cos(yaw)]])
    mat[:2, 3] = torch.tensor([x, y])
    return mat


def test_a_static_point_keeps_its_global_position():
    prev, curr = pose(0.3, 1200.0, -800.0), pose(0.5, 1203.0, -799.0)
    point_prev = torch.tensor([5.0, 2.0, 0.0, 1.0], dtype=torch.float64)
    point_curr = relative_pose(prev, curr) @ point_prev
    torch.testing.assert_close(curr @ point_curr, prev @ point_prev)
    # Driving 2 m forward moves a static point 2 m back.
    forward = relative_pose(pose(0.0, 0.0, 0.0), pose(0.0, 2.0, 0.0))
    torch.testing.assert_close(forward @ point_prev,
                               point_prev - torch.tensor([2.0, 0, 0, 0],
                                                         dtype=torch.float64))
