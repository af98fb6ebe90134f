"""Map GT as UniAD builds it, rule by rule, on small hand-made maps."""
import json
import math

import numpy as np
import pytest
from shapely.geometry import LinearRing

from nexusflow.converters import MapRasterizer
from nexusflow.converters.map_raster import (MapPolylines, pack_masks,
                                             unpack_masks)
from nexusflow.structures.poses import transform_matrix, yaw_quaternion
from nexusflow.testing.synthetic_nuscenes.map_expansion import (
    LANE_WIDTH, MapExpansionBuilder, StraightRoad)

CENTRE = np.array([500.0, 400.0])
RES, HALF = 0.512, 51.2
# nuScenes' LIDAR_TOP mount: 0.94 m ahead of the ego origin, x to the right.
LIDAR2EGO = transform_matrix(yaw_quaternion(-math.pi / 2),
                             [0.943713, 0.0, 1.84023])


def ego_pose(yaw=0.0):
    return transform_matrix(yaw_quaternion(yaw), [*CENTRE, 0.0])


def row(x):
    """Thing-layer row of ego x (truncation, as documented)."""
    return int((x + HALF) / RES)


def col(y):
    """Thing-layer column of ego y."""
    return 199 - int((y + HALF) / RES)


class HandMap:
    """A map-expansion json written record by record, in the ego frame of
    a pose (so tests read in metres around the ego)."""

    def __init__(self, pose):
        self.builder = MapExpansionBuilder('boston-seaport')
        self.pose = pose
        self.count = 0

    def _token(self):
        self.count += 1
        return f'{self.count:032x}'

    def _nodes(self, points):
        points = np.asarray(points, dtype=np.float64)
        world = points @ self.pose[:2, :2].T + self.pose[:2, 3]
        tokens = []
        for x, y in world:
            tokens.append(self._token())
            self.builder.layers['node'].append(
                dict(token=tokens[-1], x=float(x), y=float(y)))
        return tokens

    def line(self, layer, points):
        token = self._token()
        self.builder.layers['line'].append(
            dict(token=token, node_tokens=self._nodes(points)))
        self.builder.layers[layer].append(
            dict(token=self._token(), line_token=token,
                 lane_divider_segments=[]))

    def polygon(self, layer, exterior, holes=()):
        token = self._token()
        self.builder.layers['polygon'].append(
            dict(token=token, exterior_node_tokens=self._nodes(exterior),
                 holes=[dict(node_tokens=self._nodes(h)) for h in holes]))
        record = dict(token=self._token(), polygon_token=token)
        if layer == 'lane':
            record.update(lane_type='CAR', from_edge_line_token='',
                          to_edge_line_token='',
                          left_lane_divider_segments=[],
                          right_lane_divider_segments=[])
        if layer == 'drivable_area':
            record = dict(token=record['token'], polygon_tokens=[token])
        self.builder.layers[layer].append(record)

    def save(self, root):
        folder = root / 'maps' / 'expansion'
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / 'boston-seaport.json', 'w') as f:
            json.dump(self.builder.to_json(), f)
        return str(root)


def rect(x0, x1, y0, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def labelled(vectors, label):
    return [points for lab, points in vectors if lab == label]


def test_crossing_is_its_two_longest_edges(tmp_path):
    hand = HandMap(ego_pose())
    # Edges: AB 12.9 m, BC 4, CD 11.9, DE 1.41, EA 3.
    hand.polygon('ped_crossing', [(10, -2), (22.9, -2), (22.9, 2), (11, 2),
                                  (10, 1)])
    raster = MapRasterizer(hand.save(tmp_path))
    vectors = raster.vectorize('boston-seaport', ego_pose())
    cd, ab = labelled(vectors, 1)  # second-longest edge first, as UniAD
    assert len(vectors) == 2
    assert np.allclose(ab, np.stack([10 + np.arange(13), np.full(13, -2)],
                                    1))
    assert np.allclose(cd, np.stack([22.9 - np.arange(12), np.full(12, 2)],
                                    1))

    masks = raster.rasterize('boston-seaport', ego_pose() @ LIDAR2EGO,
                             ego_pose())
    crossing = masks[1]
    # The long edges are drawn; the short ones (BC at x = 22.9, EA at
    # x = 10 between y = -1 and 0.5) are not.
    assert crossing[row(15), col(-2)] and crossing[row(15), col(2)]
    assert not crossing[row(22.9), col(0.5):col(-0.5) + 1].any()
    assert not crossing[row(10) - 1:row(10) + 2,
                        col(0.5):col(-1) + 1].any()
    assert masks[[0, 2]].sum() == 0

    things = MapPolylines.unpack(
        raster.thing_polylines('boston-seaport', ego_pose()).pack()
    ).instances()
    assert things['labels'].tolist() == [1, 1]
    # AB's box: its columns around y = -2, rows from x = 10 to x = 22 (the
    # last 0.9 m after the last whole metre is not sampled).
    x1, y1, x2, y2 = things['bboxes'][1]
    assert x1 <= col(-2) <= x2 and x2 - x1 <= 2
    assert y1 <= row(10) and row(22) <= y2 <= row(22) + 1 < row(22.9)


@pytest.fixture(scope='module')
def overlap_map(tmp_path_factory):
    """A divider along y = 0 passing a road edge (x < -20), alone
    (-20 < x < 0) and a crossing edge at y = 1 (0 < x < 20.5); the
    crossing's far edge y = 4 runs 1 m from a lane's edge y = 5 (5 < x <
    15); a short divider lies inside the road edge's band."""
    hand = HandMap(ego_pose())
    hand.line('road_divider', [(-40, 0), (30, 0)])
    hand.line('lane_divider', [(-35, -1.3), (-30, -1.3)])
    hand.polygon('ped_crossing', rect(0, 20.5, 1, 4))
    hand.polygon('road_segment', rect(-45, -20, -1, 10))
    hand.polygon('lane', rect(5, 15, 5, 12))
    return hand.save(tmp_path_factory.mktemp('overlap'))


def test_overlap_filter_erases_lower_classes(overlap_map):
    raster = MapRasterizer(overlap_map)
    lines = raster.thing_polylines('boston-seaport', ego_pose())
    divider, crossing, contour = lines.semantic()
    # Where the divider runs alone it is drawn ...
    assert divider[row(-15):row(-5), col(0)].all()
    assert divider[row(22):row(29), col(0)].all()
    # ... inside the 6 px band of a road edge or a crossing edge it is not.
    assert not divider[row(-40):row(-21)].any()
    assert not divider[row(1):row(20)].any()
    assert contour[row(-40):row(-21), col(-1)].all()
    assert crossing[row(1):row(20), col(1)].all()
    # The crossing edge at y = 4 goes where the lane edge is 1 m away.
    assert crossing[row(1):row(4), col(4)].all()
    assert not crossing[row(6):row(14), col(4) - 1:col(4) + 2].any()
    assert contour[row(6):row(14), col(5)].all()
    # Drawn alone, the divider has those pixels: the filter removed them.
    alone = MapPolylines(lines.labels[lines.labels == 0],
                         [p for p, lab in zip(lines.polylines, lines.labels)
                          if lab == 0], (200, 200), 2).semantic()[0]
    assert alone[row(1):row(20), col(0)].all()
    assert alone[row(-40):row(-21), col(0)].all()


def test_instances_match_the_semantic_layers(overlap_map):
    raster = MapRasterizer(overlap_map)
    lines = raster.thing_polylines('boston-seaport', ego_pose())
    assert lines.labels.tolist() == [0, 0, 1, 1] + [2] * 2
    packed = lines.pack()
    again = MapPolylines.unpack(packed)
    assert all(np.array_equal(a, b)
               for a, b in zip(lines.polylines, again.polylines))
    assert len(packed['points']) < 4 * sum(map(len, lines.polylines))
    things = again.instances()
    # The short divider lies wholly in the road edge's band: no instance.
    assert things['labels'].tolist() == [0, 1, 1, 2, 2]
    masks, boxes = things['masks'], things['bboxes']
    assert masks.dtype == np.uint8 and masks.shape == (5, 200, 200)
    semantic = lines.semantic()
    for label in range(3):
        union = masks[things['labels'] == label].sum(0)
        assert union.max() <= 1  # a class's instances never overlap
        assert np.array_equal(union, semantic[label])
    for mask, box in zip(masks, boxes):
        rows, cols = np.nonzero(mask)
        assert box.tolist() == [cols.min(), rows.min(), cols.max(),
                                rows.max()]


def test_lines_are_centred_on_the_ego_and_drivable_on_the_lidar(tmp_path):
    yaw = 0.4
    hand = HandMap(ego_pose(yaw))
    hand.line('lane_divider', [(10, -20), (10, 20)])
    hand.polygon('drivable_area', rect(10, 40, -20, 20))
    raster = MapRasterizer(hand.save(tmp_path))
    ego = ego_pose(yaw)
    divider, _, _, drivable = raster.rasterize('boston-seaport',
                                               ego @ LIDAR2EGO, ego)
    # The divider 10 m ahead of the ego: row int((10 + 51.2) / 0.512) = 119.
    assert set(np.flatnonzero(divider.any(1))) <= {118, 119, 120}
    assert divider[row(10), col(19):col(-19)].all()
    # The drivable edge at the same place sits 0.94 m closer to the LiDAR:
    # first row round((10 - 0.94 + 51.2) / 0.512) = 118, not 120.
    rows = np.flatnonzero(drivable.any(1))
    assert rows.min() == round((10 - 0.943713 + HALF) / RES) == 118
    assert drivable[118:170, 70:130].all()
    # Both turn with the vehicle: rows forward, columns to its right.
    assert raster.ego_to_pixel([(10, 0)]).tolist() == [[99, 119]]
    col_c, row_c = raster.world_to_pixel(
        ego @ LIDAR2EGO, [CENTRE + 10 * np.array([math.cos(yaw),
                                                  math.sin(yaw)])])[0]
    assert col_c == pytest.approx(100) and row_c == pytest.approx(
        100 + (10 - 0.943713) / RES)


def test_resampled_every_metre_and_truncated(tmp_path):
    hand = HandMap(ego_pose())
    hand.line('lane_divider', [(-20, 3.5), (-12.4, 3.5)])  # 7.6 m
    hand.line('road_divider', [(30, -10), (30, -10.8)])  # 0.8 m: one sample
    hand.line('road_divider', [(30, 10), (31.5, 10)])  # 1.5 m: two samples
    raster = MapRasterizer(hand.save(tmp_path))
    vectors = raster.vectorize('boston-seaport', ego_pose())
    # Road dividers come before lane dividers, as UniAD orders them.
    short, long = labelled(vectors, 0)
    assert np.allclose(short, [(30, 10), (31, 10)])
    assert np.allclose(long, np.stack([-20 + np.arange(8), np.full(8, 3.5)],
                                      1))
    lines = raster.thing_polylines('boston-seaport', ego_pose())
    # (-20, 3.5) is pixel (60.94, 106.84): truncated, not rounded.
    assert lines.polylines[1][0].tolist() == [60, 106]
    assert lines.polylines[1][-1].tolist() == [int((-13 + HALF) / RES), 106]
    divider = lines.semantic()[0]
    assert divider[row(-20), col(3.5)] and divider[60, 93]
    # Finer sampling is configurable.
    finer = MapRasterizer(raster.dataroot, sample_dist=0.5)
    assert len(labelled(finer.vectorize('boston-seaport', ego_pose()),
                        0)[-1]) == 16


def test_contour_clipped_inside_the_patch(tmp_path):
    hand = HandMap(ego_pose())
    # A road leaving the patch at its back edge, and a block with a hole.
    hand.polygon('road_segment', rect(-80, 20, -3, 3))
    hand.polygon('lane', rect(-10, 10, 10, 30), holes=[rect(-2, 2, 18, 22)])
    root = hand.save(tmp_path)
    raster = MapRasterizer(root)
    road, outer, hole = labelled(
        raster.vectorize('boston-seaport', ego_pose()), 2)
    # The road's ring is cut open 0.2 m inside the patch (x = -51.0) and
    # runs clockwise (road on the right) from (-51.0, 3).
    assert np.allclose(road[0], (-51.0, 3.0))
    assert road[:, 0].min() >= -51.0 - 1e-9
    assert np.allclose(road[72], (20.0, 2.0))  # 71 m along, then 1 m down
    assert not LinearRing(outer).is_ccw and LinearRing(hole).is_ccw
    contour = raster.thing_polylines('boston-seaport',
                                     ego_pose()).semantic()[2]
    # No contour along the patch border across the road ...
    assert not contour[0, col(2):col(-2) + 1].any()
    # ... which a clip at the border itself would draw.
    flush = MapRasterizer(root, contour_margin=0.0)
    border = flush.thing_polylines('boston-seaport',
                                   ego_pose()).semantic()[2]
    assert border[0, col(2):col(-2) + 1].all()


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


def test_straight_road_on_the_synthetic_map(straight_road_root):
    raster = MapRasterizer(straight_road_root)
    # Driving east on the road's axis: the road runs along the rows.
    masks = raster.rasterize('boston-seaport', ego_pose() @ LIDAR2EGO,
                             ego_pose())
    assert masks.shape == (4, 200, 200) and masks.dtype == np.uint8
    divider, crossing, contour, drivable = masks
    for offset in (0.0, -LANE_WIDTH, LANE_WIDTH):
        assert divider[:, col(offset) - 1:col(offset) + 2].any(1).sum() > 150
    assert set(np.flatnonzero(contour.any(0))) <= {
        col(s * 8.0) + d for s in (-1, 1) for d in (-1, 0, 1)}
    # Crossings (16 m across the road at x = -25 m): their long edges run
    # across the columns, 4 m apart.
    rows = np.flatnonzero(crossing.any(1))
    assert rows.min() >= row(-27) - 1 and rows.max() <= row(-23) + 1
    # The road between the edges is drivable (around the LiDAR, 0.94 m
    # ahead: the same columns).
    assert drivable[:, 86:115].all() and not drivable[:60, 118:148].any()
    # The car park (s in [-15, 15] m, 11 to 26 m right of the axis) too.
    assert drivable[80:120, 125:148].all()


def test_canvas_and_resolution_are_configurable(straight_road_root):
    raster = MapRasterizer(straight_road_root, canvas_size=(60, 100),
                           resolution=1.0, line_width=1)
    pose = transform_matrix(yaw_quaternion(0.0), [*CENTRE, 0.0])
    pose[1, 3] += 2.0  # 2 m north of the road divider
    masks = raster.rasterize('boston-seaport', pose @ LIDAR2EGO, pose)
    assert masks.shape == (4, 60, 100)
    # 60 rows along the 60 m ahead/behind, 100 columns across; the road
    # divider 2 m to the right: column 100 - 1 - int(-2 + 50) = 51, the lane
    # dividers 3.5 m either side of it at columns 55 and 48.
    assert masks[0][:, 51].sum() > 40
    assert set(np.flatnonzero(masks[0].any(0))) == {48, 51, 55}
    assert raster.describe()['filter_width'] == 5


def test_pack_roundtrip_is_lossless_and_small():
    rng = np.random.default_rng(0)
    masks = (rng.random((4, 200, 200)) > 0.97).astype(np.uint8)
    masks[3, 50:150] = 1
    packed = pack_masks(masks)
    assert packed['shape'] == (4, 200, 200)
    assert np.array_equal(unpack_masks(packed), masks)
    assert len(packed['data']) < masks.size / 8


def test_polylines_reject_bad_input():
    with pytest.raises(ValueError, match='labels must be sorted'):
        MapPolylines([2, 0], [np.zeros((2, 2))] * 2, (200, 200), 2)
    with pytest.raises(ValueError, match='at least two points'):
        MapPolylines([0], [np.zeros((1, 2))], (200, 200), 2)
    empty = MapPolylines([], [], (20, 30), 2)
    assert MapPolylines.unpack(empty.pack()).instances()['masks'].shape == (
        0, 20, 30)
