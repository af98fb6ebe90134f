"""Ego-motion alignment of the previous BEV."""
import math

import pytest
import torch

from nexusflow.hosts.uniad import bev_cell_centers, relative_pose, warp_bev

# 8 x 8 cells of 1 m: centres at -3.5 ... 3.5.
PC_RANGE = (-4.0, -4.0, -5.0, 4.0, 4.0, 3.0)


def pose(x: float, y: float, yaw: float) -> torch.Tensor:
    c, s = math.cos(yaw), math.sin(yaw)
    mat = torch.eye(4, dtype=torch.float64)
    mat[:2, :2] = torch.tensor([[c, -s], [s, c]])
    mat[:2, 3] = torch.tensor([x, y])
    return mat


def one_hot_bev(row: int, col: int) -> torch.Tensor:
    bev = torch.zeros(1, 2, 8, 8)
    bev[0, :, row, col] = torch.tensor([1.0, 5.0])
    return bev


def peak(bev: torch.Tensor) -> tuple:
    index = int(bev[0, 0].argmax())
    return divmod(index, bev.shape[-1])


def test_cell_centres_follow_x_on_columns_and_y_on_rows():
    centers = bev_cell_centers((8, 8), PC_RANGE)
    assert centers.shape == (8, 8, 2)
    assert torch.allclose(centers[2, 5], torch.tensor([1.5, -1.5]))


def test_forward_motion_moves_a_static_feature_backwards():
    # The ego drives 2 m along +x: a static point 2 m ahead of the old
    # position is now 2 m closer, i.e. two cells towards -x.
    prev2curr = relative_pose(pose(100.0, 50.0, 0.0),
                              pose(102.0, 50.0, 0.0))
    warped = warp_bev(one_hot_bev(3, 6), prev2curr[None], PC_RANGE)
    assert peak(warped) == (3, 4)
    assert torch.allclose(warped[0, :, 3, 4], torch.tensor([1.0, 5.0]))
    assert float(warped.abs().sum()) == pytest.approx(6.0)


def test_sideways_motion_and_heading_are_used():
    prev2curr = relative_pose(pose(0.0, 0.0, 0.3), pose(
        -math.sin(0.3) * 1.0, math.cos(0.3) * 1.0, 0.3))
    # One metre along the ego's own +y: the feature moves one row down.
    warped = warp_bev(one_hot_bev(5, 2), prev2curr[None], PC_RANGE)
    assert peak(warped) == (4, 2)
    assert torch.allclose(warped[0, :, 4, 2], torch.tensor([1.0, 5.0]),
                          atol=1e-5)


def test_quarter_turn_rotates_the_grid():
    # The ego turns left by 90 degrees in place: a point ahead (+x) is now
    # on its right (-y).
    prev2curr = relative_pose(pose(7.0, 3.0, 0.0),
                              pose(7.0, 3.0, math.pi / 2))
    centers = bev_cell_centers((8, 8), PC_RANGE)
    assert torch.allclose(centers[3, 6], torch.tensor([2.5, -0.5]))
    warped = warp_bev(one_hot_bev(3, 6), prev2curr[None], PC_RANGE)
    row, col = peak(warped)
    assert torch.allclose(centers[row, col], torch.tensor([-0.5, -2.5]))
    assert float(warped[0, 0, row, col]) == pytest.approx(1.0, abs=1e-5)


def test_identity_motion_keeps_the_bev_and_outside_is_zero():
    bev = torch.randn(2, 3, 8, 8)
    identity = torch.eye(4, dtype=torch.float64).expand(2, 4, 4)
    assert torch.allclose(warp_bev(bev, identity, PC_RANGE), bev, atol=1e-6)
    far = relative_pose(pose(0.0, 0.0, 0.0), pose(50.0, 0.0, 0.0))
    assert float(warp_bev(bev[:1], far[None], PC_RANGE).abs().max()) == 0.0


def test_bad_shapes_fail_clearly():
    with pytest.raises(ValueError, match='prev_bev must be'):
        warp_bev(torch.zeros(2, 8, 8), torch.eye(4)[None], PC_RANGE)
    with pytest.raises(ValueError, match=r'prev2curr must be \(2, 4, 4\)'):
        warp_bev(torch.zeros(2, 1, 8, 8), torch.eye(4)[None], PC_RANGE)
