"""Straight two-way roads and their nuScenes map-expansion records.

The synthetic nuScenes set lays every scene on a straight road. This module
owns the road geometry (a road frame ``(s, t)``: ``s`` along the road,
``t`` to its left) and writes the layers that
``nuscenes.map_expansion.map_api.NuScenesMap`` reads, plus the semantic-prior
png that ``nuscenes.NuScenes`` references from its ``map`` table.
"""
import hashlib
import math
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

# Real map extents in metres (width, height), as documented by the devkit.
MAP_DIMS = {
    'boston-seaport': (2979.5, 2118.1),
    'singapore-onenorth': (1585.6, 2025.0),
    'singapore-hollandvillage': (2808.3, 2922.9),
    'singapore-queenstown': (3228.6, 3687.1),
}
LOCATIONS = tuple(MAP_DIMS)
MAP_VERSION = '1.3'
# The semantic prior png is stored at the devkit's native 10 px/m.
PRIOR_RESOLUTION = 0.1

LANE_WIDTH = 3.5
ROAD_HALF_WIDTH = 8.0  # two lanes per direction plus a shoulder
WALKWAY = (8.0, 11.0)  # |t| range of the walkways on both sides
CARPARK = (11.0, 26.0)  # |t| range of the car park beside the road
SEGMENT_LENGTH = 50.0  # road segments / lanes are cut at this length
CROSSING_WIDTH = 4.0


def make_token(*parts) -> str:
    """Deterministic 32-hex token, shaped like the real nuScenes tokens.

    Args:
        *parts: anything whose ``str`` identifies the record uniquely.

    Returns:
        str: an md5 hex digest.
    """
    key = '/'.join(str(p) for p in parts)
    return hashlib.md5(key.encode()).hexdigest()


def drives_on_left(location: str) -> bool:
    """Singapore drives on the left, Boston on the right."""
    return location.startswith('singapore')


class StraightRoad:
    """A straight two-way road in the global (map) frame.

    Args:
        origin (Sequence[float]): global ``(x, y)`` of ``s = t = 0``.
        heading (float): direction of increasing ``s`` in radians.
        half_length (float): the road spans ``s`` in
            ``[-half_length, half_length]``.
        left_hand (bool): whether traffic keeps left (Singapore).
    """

    def __init__(self, origin: Sequence[float], heading: float,
                 half_length: float, left_hand: bool) -> None:
        self.origin = np.asarray(origin, dtype=np.float64)
        self.heading = float(heading)
        self.half_length = float(half_length)
        self.left_hand = left_hand
        self.direction = np.array([math.cos(heading), math.sin(heading)])
        self.normal = np.array([-math.sin(heading), math.cos(heading)])

    @property
    def forward_side(self) -> float:
        """Sign of ``t`` for the lanes that drive towards ``+s``."""
        return 1.0 if self.left_hand else -1.0

    def to_global(self, s, t) -> np.ndarray:
        """Road coordinates to global ``(x, y)``.

        Args:
            s (float | np.ndarray): along-road coordinates.
            t (float | np.ndarray): lateral coordinates (left positive).

        Returns:
            np.ndarray: ``(..., 2)`` global positions.
        """
        s = np.asarray(s, dtype=np.float64)[..., None]
        t = np.asarray(t, dtype=np.float64)[..., None]
        return self.origin + s * self.direction + t * self.normal

    def rect(self, s0: float, s1: float, t0: float,
             t1: float) -> np.ndarray:
        """Corners (counter-clockwise) of a road-aligned rectangle."""
        return self.to_global([s0, s1, s1, s0], [t0, t0, t1, t1])

    def cut_points(self) -> np.ndarray:
        """``s`` values where road segments and lanes are cut."""
        num = max(1, int(round(2 * self.half_length / SEGMENT_LENGTH)))
        return np.linspace(-self.half_length, self.half_length, num + 1)

    def crossings(self) -> List[float]:
        """``s`` of the pedestrian crossings: one mid-way in every other
        segment, starting with the segment that holds ``s = 0``."""
        cuts = self.cut_points()
        centres = (cuts[:-1] + cuts[1:]) / 2
        first = int(np.argmin(np.abs(centres)))
        return [float(c) for i, c in enumerate(centres)
                if (i - first) % 2 == 0]

    def lane_bounds(self) -> List[Tuple[float, float]]:
        """Lateral ``(t_min, t_max)`` of the four lanes, right to left."""
        return [(-2 * LANE_WIDTH, -LANE_WIDTH), (-LANE_WIDTH, 0.0),
                (0.0, LANE_WIDTH), (LANE_WIDTH, 2 * LANE_WIDTH)]


class MapExpansionBuilder:
    """Collects the records of one location's map-expansion json.

    Args:
        location (str): one of :data:`LOCATIONS`.
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self.layers: Dict[str, list] = {
            name: []
            for name in ('polygon', 'line', 'node', 'drivable_area',
                         'road_segment', 'road_block', 'lane',
                         'ped_crossing', 'walkway', 'stop_line',
                         'carpark_area', 'road_divider', 'lane_divider',
                         'traffic_light', 'lane_connector')
        }
        self.arcline_path_3: Dict[str, list] = {}
        self.connectivity: Dict[str, dict] = {}
        self.roads: List[StraightRoad] = []
        self._count = 0

    def _token(self, kind: str) -> str:
        self._count += 1
        return make_token('map', self.location, kind, self._count)

    def _node(self, xy: Sequence[float]) -> str:
        token = self._token('node')
        self.layers['node'].append(
            dict(token=token, x=float(xy[0]), y=float(xy[1])))
        return token

    def _line(self, points: np.ndarray) -> Tuple[str, List[str]]:
        nodes = [self._node(p) for p in points]
        token = self._token('line')
        self.layers['line'].append(dict(token=token, node_tokens=nodes))
        return token, nodes

    def _polygon(self, corners: np.ndarray) -> str:
        token = self._token('polygon')
        self.layers['polygon'].append(
            dict(token=token,
                 exterior_node_tokens=[self._node(p) for p in corners],
                 holes=[]))
        return token

    def add_road(self, road: StraightRoad) -> None:
        """Adds every layer of one road: drivable area, segments, blocks,
        lanes (with connectivity and arcline paths), dividers, walkways,
        crossings with stop lines, a car park and a traffic light.

        Args:
            road (StraightRoad): the road to add.
        """
        self.roads.append(road)
        s_lo, s_hi = -road.half_length, road.half_length
        fwd = road.forward_side
        carpark_t = sorted((fwd * CARPARK[0], fwd * CARPARK[1]))
        drivable = self._token('drivable_area')
        self.layers['drivable_area'].append(
            dict(token=drivable, polygon_tokens=[
                self._polygon(road.rect(s_lo, s_hi, -ROAD_HALF_WIDTH,
                                        ROAD_HALF_WIDTH)),
                self._polygon(road.rect(-15.0, 15.0, *carpark_t)),
            ]))

        cuts = road.cut_points()
        segments, blocks, lane_rows = [], [], []
        for a, b in zip(cuts[:-1], cuts[1:]):
            segment = self._token('road_segment')
            self.layers['road_segment'].append(
                dict(token=segment,
                     polygon_token=self._polygon(
                         road.rect(a, b, -ROAD_HALF_WIDTH, ROAD_HALF_WIDTH)),
                     is_intersection=False, drivable_area_token=drivable))
            segments.append(segment)
            row_blocks = {}
            for side in (-1.0, 1.0):
                # +s traffic enters a block at a, -s traffic at b.
                start, end = (a, b) if side == fwd else (b, a)
                block = self._token('road_block')
                t_range = sorted((0.0, side * ROAD_HALF_WIDTH))
                self.layers['road_block'].append(
                    dict(token=block,
                         polygon_token=self._polygon(
                             road.rect(a, b, *t_range)),
                         from_edge_line_token=self._line(
                             road.to_global([start, start], t_range))[0],
                         to_edge_line_token=self._line(
                             road.to_global([end, end], t_range))[0],
                         road_segment_token=segment))
                row_blocks[side] = block
            blocks.append(row_blocks)
            lane_rows.append(self._add_lanes(road, a, b))
            self.layers['road_divider'].append(
                dict(token=self._token('road_divider'),
                     line_token=self._line(road.to_global([a, b],
                                                          [0, 0]))[0],
                     road_segment_token=segment))
            for t in (-LANE_WIDTH, LANE_WIDTH):
                line, nodes = self._line(road.to_global([a, b], [t, t]))
                self.layers['lane_divider'].append(
                    dict(token=self._token('lane_divider'), line_token=line,
                         lane_divider_segments=[
                             dict(node_token=n,
                                  segment_type='DOUBLE_DASHED_WHITE')
                             for n in nodes]))
            for side in (-1.0, 1.0):
                t_range = sorted((side * WALKWAY[0], side * WALKWAY[1]))
                self.layers['walkway'].append(
                    dict(token=self._token('walkway'),
                         polygon_token=self._polygon(
                             road.rect(a, b, *t_range))))
        self._connect_lanes(road, lane_rows)

        carpark_block = blocks[int(np.searchsorted(cuts, 0.0) - 1)][fwd]
        self.layers['carpark_area'].append(
            dict(token=self._token('carpark_area'),
                 polygon_token=self._polygon(
                     road.rect(-15.0, 15.0, *carpark_t)),
                 orientation=road.heading, road_block_token=carpark_block))
        for k, s_c in enumerate(road.crossings()):
            index = min(int(np.searchsorted(cuts, s_c) - 1), len(segments) - 1)
            self._add_crossing(road, s_c, segments[index], blocks[index],
                               with_light=(k == 0))

    def _add_lanes(self, road: StraightRoad, a: float,
                   b: float) -> List[str]:
        """Adds the four lanes of one segment; returns their tokens."""
        tokens = []
        for t0, t1 in road.lane_bounds():
            centre = 0.5 * (t0 + t1)
            forward = np.sign(centre) == road.forward_side
            start, end = (a, b) if forward else (b, a)
            yaw = road.heading if forward else road.heading + math.pi
            yaw = math.atan2(math.sin(yaw), math.cos(yaw))
            # Left/right as seen by a driver in the lane.
            left_t, right_t = (t1, t0) if forward else (t0, t1)
            token = self._token('lane')
            tokens.append(token)
            self.layers['lane'].append(
                dict(token=token,
                     polygon_token=self._polygon(road.rect(a, b, t0, t1)),
                     lane_type='CAR',
                     from_edge_line_token=self._line(
                         road.to_global([start, start], [t0, t1]))[0],
                     to_edge_line_token=self._line(
                         road.to_global([end, end], [t0, t1]))[0],
                     left_lane_divider_segments=self._divider_segments(
                         road, start, end, left_t),
                     right_lane_divider_segments=self._divider_segments(
                         road, start, end, right_t)))
            p0, p1 = road.to_global([start, end], [centre, centre])
            self.arcline_path_3[token] = [
                dict(start_pose=[float(p0[0]), float(p0[1]), yaw],
                     end_pose=[float(p1[0]), float(p1[1]), yaw],
                     shape='LSR', radius=999.999,
                     segment_length=[0.0, float(b - a), 0.0])
            ]
        return tokens

    def _divider_segments(self, road: StraightRoad, start: float,
                          end: float, t: float) -> List[dict]:
        if abs(t) >= 2 * LANE_WIDTH:
            kind = 'NIL'
        elif t == 0.0:
            kind = 'DOUBLE_SOLID_YELLOW'
        else:
            kind = 'DOUBLE_DASHED_WHITE'
        return [dict(node_token=self._node(p), segment_type=kind)
                for p in road.to_global([start, end], [t, t])]

    def _connect_lanes(self, road: StraightRoad,
                       rows: List[List[str]]) -> None:
        """Links each lane to the same lane of the neighbouring segments
        in its driving direction."""
        for i, row in enumerate(rows):
            for j, (t0, t1) in enumerate(road.lane_bounds()):
                forward = np.sign(0.5 * (t0 + t1)) == road.forward_side
                prev_i, next_i = (i - 1, i + 1) if forward else (i + 1, i - 1)
                self.connectivity[row[j]] = dict(
                    incoming=[rows[prev_i][j]]
                    if 0 <= prev_i < len(rows) else [],
                    outgoing=[rows[next_i][j]]
                    if 0 <= next_i < len(rows) else [])

    def _add_crossing(self, road: StraightRoad, s_c: float, segment: str,
                      blocks: Dict[float, str], with_light: bool) -> None:
        half = CROSSING_WIDTH / 2
        crossing = self._token('ped_crossing')
        self.layers['ped_crossing'].append(
            dict(token=crossing,
                 polygon_token=self._polygon(
                     road.rect(s_c - half, s_c + half, -ROAD_HALF_WIDTH,
                               ROAD_HALF_WIDTH)),
                 road_segment_token=segment))
        light_tokens = []
        if with_light:
            fwd = road.forward_side
            light = self._token('traffic_light')
            light_tokens.append(light)
            pole = road.to_global([s_c - half - 1.0] * 2,
                                  [fwd * (WALKWAY[0] + 0.5),
                                   fwd * (WALKWAY[0] + 1.0)])
            self.layers['traffic_light'].append(
                dict(token=light, line_token=self._line(pole)[0],
                     traffic_light_type='VERTICAL',
                     from_road_block_token=blocks[fwd],
                     items=[dict(color=c, shape='CIRCLE',
                                 rel_pos=dict(tx=0.0, ty=0.0, tz=z, rx=0.0,
                                              ry=0.0, rz=0.0),
                                 to_road_block_tokens=[])
                            for c, z in (('RED', 3.2), ('YELLOW', 2.9),
                                         ('GREEN', 2.6))],
                     pose=dict(tx=float(pole[0][0]), ty=float(pole[0][1]),
                               tz=0.0, rx=0.0, ry=0.0, rz=road.heading)))
        for side in (-1.0, 1.0):
            # Stop 0.5 m before the crossing, seen from each direction.
            near = s_c - half - 1.0 if side == road.forward_side \
                else s_c + half + 0.5
            t_range = sorted((0.0, side * 2 * LANE_WIDTH))
            self.layers['stop_line'].append(
                dict(token=self._token('stop_line'),
                     polygon_token=self._polygon(
                         road.rect(near, near + 0.5, *t_range)),
                     stop_line_type='PED_CROSSING',
                     ped_crossing_tokens=[crossing],
                     traffic_light_tokens=light_tokens
                     if side == road.forward_side else [],
                     road_block_token=blocks[side]))

    def to_json(self) -> dict:
        """The map-expansion json of this location.

        Returns:
            dict: every layer ``NuScenesMap`` loads, plus ``version`` and
            ``canvas_edge``.
        """
        out = dict(version=MAP_VERSION,
                   canvas_edge=list(MAP_DIMS[self.location]))
        out.update(self.layers)
        out['arcline_path_3'] = self.arcline_path_3
        out['connectivity'] = self.connectivity
        return out

    def semantic_prior(self) -> np.ndarray:
        """Rasterizes the drivable area at the devkit's native 10 px/m.

        The devkit's ``MapMask`` anchors the png at the map origin with
        image row 0 at the top, so the raster covers ``[0, max_x]`` x
        ``[0, max_y]`` of the drivable polygons.

        Returns:
            np.ndarray: ``uint8`` mask, 255 on drivable ground.
        """
        polygons = {p['token']: p for p in self.layers['polygon']}
        nodes = {n['token']: (n['x'], n['y']) for n in self.layers['node']}
        shapes = [np.array([nodes[n] for n in polygons[tok][
            'exterior_node_tokens']])
                  for area in self.layers['drivable_area']
                  for tok in area['polygon_tokens']]
        extent = np.max(np.concatenate(shapes), axis=0) + 5.0
        width, height = np.ceil(extent / PRIOR_RESOLUTION).astype(int)
        mask = np.zeros((height, width), np.uint8)
        pixels = [np.stack([xy[:, 0] / PRIOR_RESOLUTION,
                            height - xy[:, 1] / PRIOR_RESOLUTION],
                           axis=1).round().astype(np.int32) for xy in shapes]
        cv2.fillPoly(mask, pixels, 255)
        return mask
