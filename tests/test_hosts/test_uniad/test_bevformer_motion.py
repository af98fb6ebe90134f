"""BEVFormer's ego-motion compensation on hand-checkable cases: the previous
BEV's nearest-neighbour rotation and the reference shift."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from nexusflow.hosts.uniad import (BEVFormerTemporalSelfAttention,
                                   bev_reference_points, bev_shift, rotate_bev)
from helpers.bevformer_reference import rotate_nearest

PC_RANGE = (-51.2, -51.2, -5.0, 51.2, 51.2, 3.0)


def grid(height: int, width: int, channels: int = 2) -> torch.Tensor:
    return torch.arange(channels * height * width, dtype=torch.float32).view(
        1, channels, height, width) + 1


@pytest.mark.parametrize('size', [6, 7])
def test_quarter_turns_about_the_centre_permute_cells(size):
    bev = grid(size, size)
    center = (size / 2, size / 2)
    # Output cell (row r, col c) reads input (row c, col size-1-r): the
    # counter-clockwise quarter turn of the displayed image.
    assert torch.equal(rotate_bev(bev, [90.0], center),
                       torch.rot90(bev, 1, dims=(2, 3)))
    assert torch.equal(rotate_bev(bev, [-90.0], center),
                       torch.rot90(bev, -1, dims=(2, 3)))
    assert torch.equal(rotate_bev(bev, [180.0], center),
                       torch.flip(bev, dims=(2, 3)))
    assert torch.equal(rotate_bev(bev, [0.0], center), bev)
    # One hand-picked cell: ego turned left by 90 degrees, so the cell in
    # front (+x, column) now shows what was on the left (+y, row).
    out = rotate_bev(bev, [90.0], center)
    middle = size // 2
    assert out[0, 0, middle, size - 1] == bev[0, 0, size - 1,
                                              size - 1 - middle]


def test_half_turn_of_a_non_square_grid():
    bev = grid(4, 6)
    out = rotate_bev(bev, [180.0], (3.0, 2.0))
    assert torch.equal(out, torch.flip(bev, dims=(2, 3)))


def test_arbitrary_angle_and_centre_match_the_pixel_definition():
    bev = torch.randn(2, 3, 9, 11)
    for b, (angle, center) in enumerate([(23.0, (2.0, 4.0)),
                                         (-141.3, (5.5, 4.5))]):
        got = rotate_bev(bev[b:b + 1], [angle], center)[0]
        assert torch.equal(got, rotate_nearest(bev[b], angle, center))
    both = rotate_bev(bev, torch.tensor([23.0, -141.3]), (2.0, 4.0))
    assert torch.equal(both[1], rotate_nearest(bev[1], -141.3, (2.0, 4.0)))


def test_rotation_fills_zeros_outside_and_keeps_dtype():
    bev = grid(8, 8).double()
    out = rotate_bev(bev, [45.0], (4.0, 4.0))
    assert out.dtype == torch.float64
    assert (out[0, :, 0, 0] == 0).all() and (out[0, :, 4, 4] != 0).all()


def can_bus(translation, yaw_rad):
    out = np.zeros((1, 18))
    out[0, :2] = translation
    out[0, 16] = yaw_rad
    return out


def test_shift_of_whole_cells_in_the_lidar_frame():
    cell = 102.4 / 50
    # nuScenes LIDAR_TOP: x right, y forward. Heading +y (yaw 90 deg),
    # driving 2 cells forward: the reference moves 2 cells along +y.
    shift = bev_shift(can_bus([0.0, 2 * cell], math.pi / 2), (50, 50),
                      PC_RANGE)
    assert shift.dtype == torch.float64
    torch.testing.assert_close(shift, torch.tensor([[0.0, 2 / 50]],
                                                   dtype=torch.float64))
    # Heading +x (yaw 0), moving along global -y (to the right): +x.
    shift = bev_shift(can_bus([0.0, -3 * cell], 0.0), (50, 50), PC_RANGE)
    torch.testing.assert_close(shift, torch.tensor([[3 / 50, 0.0]],
                                                   dtype=torch.float64))
    # Standing still: no shift, whatever the yaw.
    assert bev_shift(can_bus([0.0, 0.0], 2.0), (50, 50),
                     PC_RANGE).abs().max() == 0


def identity_tsa(dims: int) -> BEVFormerTemporalSelfAttention:
    """All points at the reference, uniform weights, identity projections:
    the output is the mean of the two queue entries sampled at their
    references, plus the residual."""
    tsa = BEVFormerTemporalSelfAttention(dims, num_heads=2,
                                         num_points=4).eval()
    with torch.no_grad():
        for layer in (tsa.sampling_offsets, tsa.attention_weights):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        for layer in (tsa.value_proj, tsa.output_proj):
            layer.weight.copy_(torch.eye(dims))
            nn.init.zeros_(layer.bias)
    return tsa


def test_a_whole_cell_shift_moves_the_sampled_prev_bev_by_those_cells():
    height, width, dims = 6, 5, 4
    # Heading +y, 2 cells forward (the grid is 102.4 m tall).
    shift = bev_shift(can_bus([0.0, 2 * 102.4 / height], math.pi / 2),
                      (height, width), PC_RANGE).float()
    torch.testing.assert_close(shift, torch.tensor([[0.0, 2 / height]]))
    ref = bev_reference_points((height, width)) + shift[:, None]
    prev = torch.randn(1, height * width, dims)
    query = torch.zeros(1, height * width, dims)
    tsa = identity_tsa(dims)
    with torch.no_grad():
        out = tsa(query, torch.zeros_like(query),
                  torch.stack([prev, query], 1),
                  torch.stack([ref, ref], 1),
                  torch.tensor([[height, width]]))
    prev_map = prev.view(height, width, dims)
    expected = torch.zeros(height, width, dims)
    expected[:-2] = prev_map[2:] / 2  # cell (h, w) reads cell (h + 2, w)
    torch.testing.assert_close(out.view(height, width, dims), expected,
                               rtol=1e-5, atol=1e-5)
