"""BEV panel geometry: the map turned with ego forward up, boxes on the
cells under them, oriented boxes drawn where they are."""
import numpy as np
import pytest

from nexusflow.visualization import (BEVCanvas, box_corners_bev, forward_axis,
                                     render_bev, track_color)
from helpers.visualization import box, color_pixels, has_color


@pytest.mark.parametrize('forward', ['+x', '-x', '+y', '-y'])
def test_map_cells_and_points_land_on_the_same_pixels(forward):
    canvas = BEVCanvas((60, 80), resolution=0.5, scale=3, forward=forward)
    rng = np.random.default_rng(0)
    for _ in range(20):
        i, j = rng.integers(0, 60), rng.integers(0, 80)
        mask = np.zeros((60, 80), np.uint8)
        mask[i, j] = 1
        # The rasterizer's convention: cell (i, j) is centred at
        # x = (j - W / 2) * res, y = (i - H / 2) * res.
        x, y = (j - 40) * 0.5, (i - 30) * 0.5
        turned = canvas.turn(mask)
        row, col = np.argwhere(turned)[0]
        px = canvas.world_to_pixel([[x, y]])[0]
        assert (int(px[0] // 3), int(px[1] // 3)) == (col, row)
    rows, cols = canvas.cells
    assert canvas.size == (cols * 3, rows * 3)


@pytest.mark.parametrize('forward,ahead,left', [
    ('+x', (10, 0), (0, 10)),
    ('+y', (0, 10), (-10, 0)),
])
def test_forward_is_up_and_left_is_left(forward, ahead, left):
    canvas = BEVCanvas((200, 200), forward=forward)
    ego_col, ego_row = canvas.ego_pixel
    col, row = canvas.world_to_pixel([ahead])[0]
    assert row < ego_row - 15 and abs(col - ego_col) < 1e-6
    col, row = canvas.world_to_pixel([left])[0]
    assert col < ego_col - 15 and abs(row - ego_row) < 1e-6


def test_forward_axis_of_the_nuscenes_lidar():
    # LIDAR_TOP is turned by -90 degrees: the ego's forward is LiDAR +y.
    lidar2ego = np.eye(4)
    lidar2ego[:2, :2] = [[0, 1], [-1, 0]]
    assert forward_axis(lidar2ego) == '+y'
    assert forward_axis(np.eye(4)) == '+x'
    assert forward_axis(None) == '+x'


def test_box_corners_follow_the_heading():
    corners = box_corners_bev(np.array([box(10, 5, yaw=np.pi / 2)]))[0]
    # Length 4 along +y (the heading), width 2 along x; front corners first.
    np.testing.assert_allclose(corners, [[9, 7], [11, 7], [11, 3], [9, 3]],
                               atol=1e-9)
    assert box_corners_bev(np.zeros((0, 9))).shape == (0, 4, 2)


def test_boxes_are_drawn_where_they_are():
    canvas = BEVCanvas((200, 200), forward='+x')
    boxes = np.array([box(20, 8, yaw=0.4), box(-15, -12, yaw=-1.0)])
    colors = [track_color(3), track_color(11)]
    image = render_bev(canvas, None, boxes, colors)
    assert image.size == canvas.size == (400, 400)
    for b, color in zip(boxes, colors):
        # Heading line from the centre, outline through the corners.
        assert has_color(image, color, canvas.world_to_pixel([b[:2]])[0])
        for corner in canvas.world_to_pixel(box_corners_bev(b[None])[0]):
            assert has_color(image, color, corner)
        drawn = color_pixels(image, color)
        quad = canvas.world_to_pixel(box_corners_bev(b[None])[0])
        assert (drawn.min(0) >= quad.min(0) - 2).all()
        assert (drawn.max(0) <= quad.max(0) + 2).all()
    # Box 1 is ahead on the left: above and left of the ego.
    ego = canvas.ego_pixel
    centre = color_pixels(image, colors[0]).mean(0)
    assert centre[0] < ego[0] and centre[1] < ego[1]


def test_map_probabilities_shade_the_panel():
    canvas = BEVCanvas((50, 50), scale=2)
    masks = np.zeros((4, 50, 50), np.float32)
    masks[3, :, :25] = 1.0
    masks[3, :, 25:] = 0.5
    image = np.asarray(render_bev(canvas, masks, np.zeros((0, 9)), []))
    empty = np.asarray(render_bev(canvas, None, np.zeros((0, 9)), []))
    # Columns j < 25 are behind the ego (x < 0): the bottom half.
    full, half = image[-5, 5].astype(int), image[5, 5].astype(int)
    background = empty[5, 5].astype(int)
    # Fully drivable is the drivable colour, half-way is in between.
    assert (full != background).any()
    assert np.abs(half - (full + background) / 2).max() <= 1
    with pytest.raises(ValueError, match='canvas'):
        render_bev(canvas, np.zeros((4, 20, 20)), np.zeros((0, 9)), [])
