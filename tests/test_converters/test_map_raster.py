"""BEV map rasterization: known geometry lands on the expected pixels."""
import json
import math

import numpy as np
import pytest

from nexusflow.converters import MapRasterizer
from nexusflow.converters.map_raster import pack_masks, unpack_masks
from nexusflow.testing.synthetic_nuscenes.map_expansion import (
    LANE_WIDTH, ROAD_HALF_WIDTH, MapExpansionBuilder, StraightRoad)

CENTRE = np.array([500.0, 400.0])


@pytest.fixture(scope='module')
def straight_road_root(tmp_path_factory):
    """A Boston map holding one straight east-west road through CENTRE."""
    root = tmp_path_factory.mktemp('map_root')
    builder = MapExpansionBuilder('boston-seaport')
    builder.add_road(StraightRoad(CENTRE, 0.0, 100.0, left_hand=False))
    (root / 'maps' / 'expansion').mkdir(parents=True)
    with open(root / 'maps' / 'expansion' / 'boston-seaport.json', 'w') as f:
        json.dump(builder.to_json(), f)
    return str(root)


def lidar_pose(yaw, offset=(0.0, 0.0)):
    mat = np.eye(4)
    mat[:2, :2] = [[math.cos(yaw), -math.sin(yaw)],
                   [math.sin(yaw), math.cos(yaw)]]
    mat[:2, 3] = CENTRE + offset
    return mat


def test_straight_divider_rows_along_lidar_x(straight_road_root):
    raster = MapRasterizer(straight_road_root)
    masks = raster.rasterize('boston-seaport', lidar_pose(0.0))
    assert masks.shape == (4, 200, 200) and masks.dtype == np.uint8
    divider, crossing, contour, drivable = masks
    # Road divider at y = 0 and lane dividers at y = +-3.5 m, rows 100 and
    # 100 +- 3.5 / 0.512, 2 px thick, across the whole canvas.
    for offset in (0.0, -LANE_WIDTH, LANE_WIDTH):
        row = int(round(100 + offset / 0.512))
        assert divider[row - 1:row + 2].any(0).all()
    rows_on = np.flatnonzero(divider.any(1))
    expected = {100 + d for d in (-1, 0, 1)} | {
        int(round(100 + s * LANE_WIDTH / 0.512)) + d
        for s in (-1, 1) for d in (-1, 0, 1)}
    assert set(rows_on) <= expected
    # The road edges (+-8 m) are the contour; the road between is drivable.
    edge = ROAD_HALF_WIDTH / 0.512
    assert set(np.flatnonzero(contour.any(1))) <= {
        int(round(100 + s * edge)) + d for s in (-1, 1) for d in (-1, 0, 1)}
    assert drivable[int(100 - edge) + 1:int(100 + edge), :].all()
    assert not drivable[int(100 + edge) + 2:].any()
    # The car park (t in [-26, -11] m, s in [-15, 15] m) is drivable too.
    assert drivable[52:76, 75:125].all() and not drivable[:48].any()
    assert not drivable[52:76, :65].any()
    # Crossings at x = -25 m (col 51) and outside the canvas (x = 75 m).
    cols = np.flatnonzero(crossing.any(0))
    assert cols.min() >= 51 - 4 - 2 and cols.max() <= 51 + 4 + 2


def test_rotated_pose_turns_dividers_into_columns(straight_road_root):
    raster = MapRasterizer(straight_road_root)
    # LiDAR x points north: the east-west road runs along LiDAR -y.
    masks = raster.rasterize('boston-seaport', lidar_pose(math.pi / 2))
    divider = masks[0]
    assert divider[:, 99:102].any(1).all()
    assert not divider[:, 110:180].any()
    # world_to_pixel agrees: a point 20 m east lands at row 100 - 20/0.512.
    col, row = raster.world_to_pixel(lidar_pose(math.pi / 2),
                                     [CENTRE + [20.0, 0.0]])[0]
    assert col == pytest.approx(100) and row == pytest.approx(100 - 39.0625)


def test_canvas_and_resolution_are_configurable(straight_road_root):
    raster = MapRasterizer(straight_road_root, canvas_size=(60, 100),
                           resolution=1.0, line_width=1)
    masks = raster.rasterize('boston-seaport', lidar_pose(0.0, (0, 2.0)))
    assert masks.shape == (4, 60, 100)
    # The ego is 2 m north of the divider: row 30 - 2.
    assert masks[0, 28].all() and not masks[0, 26].any()


def test_pack_roundtrip_is_lossless_and_small():
    rng = np.random.default_rng(0)
    masks = (rng.random((4, 200, 200)) > 0.97).astype(np.uint8)
    masks[3, 50:150] = 1
    packed = pack_masks(masks)
    assert packed['shape'] == (4, 200, 200)
    assert np.array_equal(unpack_masks(packed), masks)
    assert len(packed['data']) < masks.size / 8
