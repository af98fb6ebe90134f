"""A tiny synthetic nuScenes set, written in the real devkit format.

``create_synthetic_nuscenes`` writes the 13 json tables, the map expansion,
LIDAR_TOP key frames and sweeps (``.pcd.bin``, float32 ``N x 5``) and six
camera jpgs, so that ``nuscenes.NuScenes``, ``NuScenesMap``, mmdet3d's
converters and the devkit's evaluation all run on it unchanged.

Every scene is an ego vehicle driving down a straight two-way road (on the
right in Boston, on the left in Singapore) among cars, trucks, buses,
trailers, motorcycles, bicycles and pedestrians that move consistently, plus
a few static objects (a parked car, a construction vehicle, a barrier, a
traffic cone, a standing pedestrian) so that every nuScenes detection class
has ground truth. Point clouds are ray-cast rings on the ground plus points
on the object surfaces; ``num_lidar_pts`` counts the generated points inside
each box. The cameras show the road markings and the projected objects.
"""
import json
import math
import os
import os.path as osp
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from ..converters.scene_splits import location_scene_splits, update_splits_json
from .synthetic_map import (CROSSING_WIDTH, LANE_WIDTH, LOCATIONS, MAP_DIMS,
                            ROAD_HALF_WIDTH, MapExpansionBuilder,
                            StraightRoad, drives_on_left, make_token)
from ..converters.trackmap_infos import rigid_inverse

VERSIONS = ('v1.0-mini', 'v1.0-trainval')
TABLES = ('category', 'attribute', 'visibility', 'instance', 'sensor',
          'calibrated_sensor', 'ego_pose', 'log', 'scene', 'sample',
          'sample_data', 'sample_annotation', 'map')
CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
CATEGORIES = (
    'animal', 'human.pedestrian.adult', 'human.pedestrian.child',
    'human.pedestrian.construction_worker',
    'human.pedestrian.personal_mobility', 'human.pedestrian.police_officer',
    'human.pedestrian.stroller', 'human.pedestrian.wheelchair',
    'movable_object.barrier', 'movable_object.debris',
    'movable_object.pushable_pullable', 'movable_object.trafficcone',
    'static_object.bicycle_rack', 'vehicle.bicycle', 'vehicle.bus.bendy',
    'vehicle.bus.rigid', 'vehicle.car', 'vehicle.construction',
    'vehicle.emergency.ambulance', 'vehicle.emergency.police',
    'vehicle.motorcycle', 'vehicle.trailer', 'vehicle.truck')
ATTRIBUTES = ('vehicle.moving', 'vehicle.stopped', 'vehicle.parked',
              'cycle.with_rider', 'cycle.without_rider',
              'pedestrian.sitting_lying_down', 'pedestrian.standing',
              'pedestrian.moving')
VISIBILITIES = (('1', 'v0-40'), ('2', 'v40-60'), ('3', 'v60-80'),
                ('4', 'v80-100'))

# The real v1.0-mini scenes (name, location, split), ordered so that any
# prefix of 4 or more holds Boston and Singapore scenes in train and val.
MINI_SCENES = (
    ('scene-0103', 'boston-seaport', 'val'),
    ('scene-0916', 'singapore-queenstown', 'val'),
    ('scene-0061', 'singapore-onenorth', 'train'),
    ('scene-0553', 'boston-seaport', 'train'),
    ('scene-1077', 'singapore-hollandvillage', 'train'),
    ('scene-0655', 'boston-seaport', 'train'),
    ('scene-0796', 'singapore-queenstown', 'train'),
    ('scene-0757', 'boston-seaport', 'train'),
    ('scene-1094', 'singapore-hollandvillage', 'train'),
    ('scene-1100', 'singapore-hollandvillage', 'train'),
)
# Locations handed out in turn to trainval scenes (Boston about half).
LOCATION_CYCLE = ('boston-seaport', 'singapore-onenorth', 'boston-seaport',
                  'singapore-queenstown', 'boston-seaport',
                  'singapore-hollandvillage')

KEYFRAME_PERIOD = 0.5  # s, nuScenes annotates at 2 Hz
MAX_EGO_SPEED = 8.0  # m/s
ANNOTATION_RANGE = 50.0  # m, objects farther from the ego are not labeled
LIDAR_RANGE = 60.0
LIDAR2EGO_TRANSLATION = (0.943713, 0.0, 1.84023)
LIDAR2EGO_YAW = -math.pi / 2  # LIDAR_TOP: x to the right, y forward
# HDL-32E ring elevations, lowest first.
RING_ELEVATIONS = np.deg2rad(np.linspace(-30.67, 10.67, 32))
RING_AZIMUTHS = 180
# name: (yaw in the ego frame, translation, timestamp offset to the lidar)
CAMERA_MOUNTS = {
    'CAM_FRONT': (0.0, (1.70, 0.0, 1.51), 0.010),
    'CAM_FRONT_RIGHT': (-math.radians(55), (1.55, -0.49, 1.52), 0.018),
    'CAM_FRONT_LEFT': (math.radians(55), (1.52, 0.49, 1.51), 0.002),
    'CAM_BACK': (math.pi, (0.03, 0.0, 1.57), 0.043),
    'CAM_BACK_LEFT': (math.radians(110), (1.04, 0.48, 1.56), -0.030),
    'CAM_BACK_RIGHT': (-math.radians(110), (1.03, -0.48, 1.57), 0.035),
}
# category: (width, length, height) in metres, BGR colour in the cameras.
OBJECT_TYPES = {
    'vehicle.car': ((1.9, 4.6, 1.7), (40, 40, 200)),
    'vehicle.truck': ((2.5, 7.0, 3.0), (40, 140, 220)),
    'vehicle.bus.rigid': ((2.9, 11.0, 3.5), (0, 200, 255)),
    'vehicle.trailer': ((2.9, 12.0, 3.8), (120, 80, 40)),
    'vehicle.construction': ((2.8, 6.5, 3.2), (0, 120, 255)),
    'vehicle.motorcycle': ((0.8, 2.1, 1.5), (200, 40, 200)),
    'vehicle.bicycle': ((0.6, 1.7, 1.3), (200, 200, 40)),
    'human.pedestrian.adult': ((0.7, 0.7, 1.75), (40, 200, 40)),
    'movable_object.barrier': ((0.5, 2.0, 1.0), (230, 230, 230)),
    'movable_object.trafficcone': ((0.4, 0.4, 0.9), (0, 90, 255)),
}


@dataclass
class Agent:
    """An object moving at constant velocity in road coordinates.

    Attributes:
        category (str): nuScenes category name.
        size (np.ndarray): ``(width, length, height)``.
        s0 (float): along-road position at scene time 0.
        t0 (float): lateral position at scene time 0.
        vs (float): along-road speed.
        vt (float): lateral speed.
        yaw (float): heading relative to the road (radians).
        attribute (str): nuScenes attribute name, '' for none.
    """
    category: str
    size: np.ndarray
    s0: float
    t0: float
    vs: float = 0.0
    vt: float = 0.0
    yaw: float = 0.0
    attribute: str = ''

    def state(self, road: StraightRoad, tau: float) -> Tuple[np.ndarray,
                                                             float]:
        """Global box centre (3,) and yaw at scene time ``tau``."""
        xy = road.to_global(self.s0 + self.vs * tau, self.t0 + self.vt * tau)
        centre = np.array([xy[0], xy[1], self.size[2] / 2])
        return centre, road.heading + self.yaw


def yaw_quaternion(yaw: float) -> List[float]:
    """A rotation about +z as a devkit quaternion.

    Args:
        yaw (float): angle in radians.

    Returns:
        list[float]: ``[w, x, y, z]``.
    """
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


def pose_matrix(yaw: float, translation: Sequence[float]) -> np.ndarray:
    """A 4x4 transform from a yaw and a translation.

    Args:
        yaw (float): rotation about +z in radians.
        translation (Sequence[float]): ``(x, y, z)``.

    Returns:
        np.ndarray: the homogeneous transform.
    """
    mat = np.eye(4)
    c, s = math.cos(yaw), math.sin(yaw)
    mat[:2, :2] = [[c, -s], [s, c]]
    mat[:3, 3] = translation
    return mat


def camera_to_ego(yaw: float, translation: Sequence[float]) -> np.ndarray:
    """A level camera's camera-to-ego transform.

    Args:
        yaw (float): viewing direction in the ego frame (radians).
        translation (Sequence[float]): mount position in the ego frame.

    Returns:
        np.ndarray: 4x4 transform; the camera frame has x right, y down and
        z forward, as in nuScenes.
    """
    forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    mat = np.eye(4)
    mat[:3, :3] = np.stack([right, [0.0, 0.0, -1.0], forward], axis=1)
    mat[:3, 3] = translation
    return mat


def rotation_to_quaternion(rot: np.ndarray) -> List[float]:
    """A 3x3 rotation matrix as a devkit quaternion ``[w, x, y, z]``."""
    from pyquaternion import Quaternion
    return list(Quaternion(matrix=rot, atol=1e-6).elements)


def points_in_boxes(points: np.ndarray, centres: np.ndarray,
                    yaws: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Which points lie inside which yaw-rotated boxes (boundary included).

    Args:
        points (np.ndarray): ``(N, 3)`` positions.
        centres (np.ndarray): ``(M, 3)`` box centres.
        yaws (np.ndarray): ``(M,)`` headings.
        sizes (np.ndarray): ``(M, 3)`` as ``(width, length, height)``.

    Returns:
        np.ndarray: ``(N, M)`` bool.
    """
    if len(centres) == 0:
        return np.zeros((len(points), 0), bool)
    rel = points[:, None, :] - centres[None]
    c, s = np.cos(yaws)[None], np.sin(yaws)[None]
    along = rel[..., 0] * c + rel[..., 1] * s
    across = -rel[..., 0] * s + rel[..., 1] * c
    return ((np.abs(along) <= sizes[None, :, 1] / 2 + 1e-6)
            & (np.abs(across) <= sizes[None, :, 0] / 2 + 1e-6)
            & (np.abs(rel[..., 2]) <= sizes[None, :, 2] / 2 + 1e-6))


def plan_scenes(version: str, num_scenes: int) -> List[Tuple[str, str, str]]:
    """Picks real scene names, their locations and train/val membership.

    Args:
        version (str): 'v1.0-mini' or 'v1.0-trainval'.
        num_scenes (int): how many scenes to make.

    Returns:
        list[tuple]: ``(scene name, location, 'train' | 'val')``, sorted by
        name.
    """
    if version == 'v1.0-mini':
        if not 1 <= num_scenes <= len(MINI_SCENES):
            raise ValueError(f'v1.0-mini has {len(MINI_SCENES)} scenes; '
                             f'num_scenes must be 1..{len(MINI_SCENES)}, got '
                             f'{num_scenes}')
        return sorted(MINI_SCENES[:num_scenes])
    from nuscenes.utils import splits
    if not 1 <= num_scenes <= len(splits.train) + len(splits.val):
        raise ValueError(f'num_scenes must be 1..850 for {version}, got '
                         f'{num_scenes}')
    num_val = 0 if num_scenes == 1 else max(1, round(0.2 * num_scenes))
    if num_scenes >= 4:
        num_val = max(2, num_val)
    num_train = num_scenes - num_val
    plan = [(name, LOCATION_CYCLE[i % len(LOCATION_CYCLE)], 'val')
            for i, name in enumerate(splits.val[:num_val])]
    plan += [(name, LOCATION_CYCLE[i % len(LOCATION_CYCLE)], 'train')
             for i, name in enumerate(splits.train[:num_train])]
    return sorted(plan)


class _Tables:
    """The 13 nuScenes tables, filled record by record."""

    def __init__(self) -> None:
        self.rows: Dict[str, List[dict]] = {name: [] for name in TABLES}

    def add(self, table: str, token: str, **fields) -> str:
        self.rows[table].append(dict(token=token, **fields))
        return token

    def link(self, table: str, records: List[dict]) -> None:
        """Fills ``prev`` / ``next`` along a chronological chain."""
        for i, rec in enumerate(records):
            rec['prev'] = records[i - 1]['token'] if i > 0 else ''
            rec['next'] = records[i + 1]['token'] \
                if i + 1 < len(records) else ''

    def dump(self, table_root: str) -> None:
        os.makedirs(table_root, exist_ok=True)
        for name, rows in self.rows.items():
            with open(osp.join(table_root, f'{name}.json'), 'w') as f:
                json.dump(rows, f)


class _SceneWriter:
    """Simulates one scene and writes its records and sensor files.

    Args:
        root (str): data root.
        tables (_Tables): the tables to fill.
        seed (int): global seed.
        name (str): scene name.
        location (str): log location.
        road (StraightRoad): the road the ego drives on.
        index (int): scene index (used for timestamps and occlusions).
        samples (int): key frames in the scene.
        sweeps (int): non-key lidar sweeps between key frames.
        image_size (tuple): camera ``(width, height)``.
    """

    def __init__(self, root: str, tables: _Tables, seed: int, name: str,
                 location: str, road: StraightRoad, index: int, samples: int,
                 sweeps: int, image_size: Tuple[int, int]) -> None:
        self.root = root
        self.tables = tables
        self.name = name
        self.location = location
        self.road = road
        self.index = index
        self.samples = samples
        self.sweeps = sweeps
        self.image_size = image_size
        self.seed = seed
        self.rng = np.random.default_rng([seed, int(name.split('-')[-1])])
        self.duration = KEYFRAME_PERIOD * (samples - 1)
        self.ego_speed = float(self.rng.uniform(3.0, MAX_EGO_SPEED))
        self.ego_s0 = -self.ego_speed * self.duration / 2
        self.ego_t = road.forward_side * LANE_WIDTH / 2
        self.agents = self._make_agents()

    def tok(self, *parts) -> str:
        return make_token(self.seed, self.name, *parts)

    # ---------------------------------------------------------------- world
    def _make_agents(self) -> List[Agent]:
        rng, fwd, s0 = self.rng, self.road.forward_side, self.ego_s0
        v = self.ego_speed

        def agent(category, **kw):
            size = np.array(OBJECT_TYPES[category][0])
            size = size * rng.uniform(0.93, 1.07, size=3)
            return Agent(category, size, **kw)

        bus_speed = rng.uniform(5.0, 8.0)
        trailer_speed = rng.uniform(3.0, 6.0)
        trailer_s = s0 + rng.uniform(20, 45)
        walk = rng.choice([-1.3, 1.3])
        barrier_s = s0 + rng.uniform(15, 30)
        agents = [
            agent('vehicle.car', s0=s0 + rng.uniform(10, 20),
                  t0=fwd * 1.5 * LANE_WIDTH, vs=v + rng.uniform(-0.3, 0.3),
                  attribute='vehicle.moving'),
            agent('vehicle.truck', s0=s0 + rng.uniform(25, 35),
                  t0=fwd * 0.5 * LANE_WIDTH, vs=v + rng.uniform(0, 0.5),
                  attribute='vehicle.moving'),
            agent('vehicle.bus.rigid',
                  s0=s0 + (v + bus_speed) * self.duration / 2 +
                  rng.uniform(10, 30),
                  t0=-fwd * 0.5 * LANE_WIDTH, vs=-bus_speed, yaw=math.pi,
                  attribute='vehicle.moving'),
            agent('vehicle.trailer', s0=trailer_s,
                  t0=-fwd * 1.5 * LANE_WIDTH, vs=-trailer_speed,
                  yaw=math.pi, attribute='vehicle.moving'),
            agent('vehicle.motorcycle', s0=s0 - rng.uniform(10, 15),
                  t0=fwd * 1.5 * LANE_WIDTH, vs=v + rng.uniform(0, 0.5),
                  attribute='vehicle.moving'),
            agent('vehicle.bicycle', s0=s0 + rng.uniform(5, 25),
                  t0=fwd * (ROAD_HALF_WIDTH - 0.8),
                  vs=rng.uniform(3.0, 5.0), attribute='cycle.with_rider'),
            agent('human.pedestrian.adult', s0=s0 + rng.uniform(-5, 25),
                  t0=-fwd * 9.5, vs=walk, yaw=0.0 if walk > 0 else math.pi,
                  attribute='pedestrian.moving'),
            # The static ones.
            agent('human.pedestrian.adult', s0=s0 + rng.uniform(0, 20),
                  t0=fwd * 9.8, yaw=rng.uniform(-math.pi, math.pi),
                  attribute='pedestrian.standing'),
            agent('vehicle.car', s0=rng.uniform(-10, 10), t0=fwd * 15.0,
                  yaw=math.pi / 2, attribute='vehicle.parked'),
            agent('vehicle.construction', s0=rng.uniform(-8, 8),
                  t0=fwd * 21.0, attribute='vehicle.parked'),
            agent('movable_object.barrier', s0=barrier_s,
                  t0=-fwd * (ROAD_HALF_WIDTH - 0.4)),
            agent('movable_object.trafficcone', s0=barrier_s + 3.0,
                  t0=-fwd * (ROAD_HALF_WIDTH - 0.3)),
        ]
        for k in range(int(rng.integers(0, 3))):
            # Oncoming cars queued behind the trailer.
            agents.append(agent('vehicle.car',
                                s0=trailer_s + 16.0 * (k + 1),
                                t0=-fwd * 1.5 * LANE_WIDTH,
                                vs=-trailer_speed, yaw=math.pi,
                                attribute='vehicle.moving'))
        return agents

    def ego_pose(self, tau: float) -> np.ndarray:
        """4x4 ego-to-global at scene time ``tau``."""
        xy = self.road.to_global(self.ego_s0 + self.ego_speed * tau,
                                 self.ego_t)
        return pose_matrix(self.road.heading, [xy[0], xy[1], 0.0])

    def _annotated_frames(self, taus: np.ndarray) -> List[range]:
        """Per agent, the contiguous key frames where it is labeled."""
        out = []
        for agent in self.agents:
            near = [k for k, tau in enumerate(taus)
                    if np.linalg.norm(agent.state(self.road, tau)[0][:2] -
                                      self.ego_pose(tau)[:2, 3])
                    <= ANNOTATION_RANGE]
            out.append(range(near[0], near[-1] + 1) if near else range(0))
        return out

    # ---------------------------------------------------------------- lidar
    def _scan(self, tau: float, visible: List[int],
              lidar2global: np.ndarray) -> np.ndarray:
        """Simulated sweep in global coordinates: ``(N, 5)`` as
        x, y, z, intensity, ring (ring filled in later)."""
        rng = self.rng
        height = LIDAR2EGO_TRANSLATION[2]
        elev = RING_ELEVATIONS[RING_ELEVATIONS < -math.atan(height /
                                                            LIDAR_RANGE)]
        az = np.linspace(0, 2 * np.pi, RING_AZIMUTHS, endpoint=False)
        rad = height / np.tan(-elev)[:, None] * rng.uniform(
            0.99, 1.01, (len(elev), len(az)))
        local = np.stack([rad * np.cos(az), rad * np.sin(az),
                          np.full_like(rad, -height)], -1).reshape(-1, 3)
        ground = local @ lidar2global[:3, :3].T + lidar2global[:3, 3]
        ground[:, 2] = 0.0
        intensity = self._ground_intensity(ground[:, :2])

        states = [self.agents[i].state(self.road, tau) for i in visible]
        centres = np.array([c for c, _ in states]).reshape(-1, 3)
        yaws = np.array([y for _, y in states])
        sizes = np.array([self.agents[i].size for i in visible]).reshape(
            -1, 3)
        # Objects hide the ground under them.
        keep = ~points_in_boxes(ground + [0, 0, 0.5], centres, yaws,
                                sizes).any(1)
        parts = [np.concatenate([ground[keep], intensity[keep, None]], 1)]
        sensor = lidar2global[:3, 3]
        for centre, yaw, size in zip(centres, yaws, sizes):
            dist = max(np.linalg.norm(centre[:2] - sensor[:2]), 5.0)
            num = int(np.clip(1200 * math.sqrt(size[1] * size[2]) / dist,
                              4, 160))
            pts = self._surface_points(size, num)
            c, s = math.cos(yaw), math.sin(yaw)
            pts = pts @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]]) + centre
            inten = np.full((num, 1), rng.uniform(20, 100))
            parts.append(np.concatenate([pts, inten], 1))
        return np.concatenate(parts)

    def _surface_points(self, size: np.ndarray, num: int) -> np.ndarray:
        """Points on the four sides and the top of a box (box frame,
        centred), slightly inside so they count as in the box."""
        w, l, h = size * 0.97
        areas = np.array([w * h, w * h, l * h, l * h, l * w])
        face = self.rng.choice(5, size=num, p=areas / areas.sum())
        u = self.rng.uniform(-0.5, 0.5, (num, 3)) * [l, w, h]
        u[face == 0, 0], u[face == 1, 0] = l / 2, -l / 2
        u[face == 2, 1], u[face == 3, 1] = w / 2, -w / 2
        u[face == 4, 2] = h / 2
        return u

    def _ground_intensity(self, xy: np.ndarray) -> np.ndarray:
        """Painted markings (dividers, road edges, crossings) are bright."""
        rel = xy - self.road.origin
        s = rel @ self.road.direction
        t = rel @ self.road.normal
        lines = np.array([0.0, -LANE_WIDTH, LANE_WIDTH, -ROAD_HALF_WIDTH,
                          ROAD_HALF_WIDTH])
        marked = (np.abs(t[:, None] - lines[None]) < 0.15).any(1)
        crossings = np.array(self.road.crossings())
        in_crossing = (np.abs(s[:, None] - crossings[None]) <
                       CROSSING_WIDTH / 2).any(1) & (np.abs(t) <
                                                     ROAD_HALF_WIDTH)
        out = self.rng.uniform(2, 12, len(xy))
        out[in_crossing] = 40.0
        out[marked] = 60.0
        return out

    # -------------------------------------------------------------- cameras
    def _render(self, cam2global: np.ndarray, intrinsic: np.ndarray,
                tau: float, visible: List[int]) -> np.ndarray:
        """Camera image: sky, ground, road markings, projected objects."""
        width, height = self.image_size
        img = np.empty((height, width, 3), np.uint8)
        horizon = int(round(intrinsic[1, 2]))
        img[:horizon] = (235, 206, 135)
        img[horizon:] = (90, 90, 90)
        global2cam = rigid_inverse(cam2global)

        def project(xyz):
            cam = xyz @ global2cam[:3, :3].T + global2cam[:3, 3]
            front = cam[:, 2] > 0.5
            uv = cam[:, :2] / np.maximum(cam[:, 2:3], 1e-6)
            uv = uv * intrinsic[[0, 1], [0, 1]] + intrinsic[:2, 2]
            return uv, front, cam[:, 2]

        ego_s = self.ego_s0 + self.ego_speed * tau
        s = np.arange(ego_s - 60, ego_s + 60, 1.0)
        for t, colour in ((0.0, (0, 220, 255)), (-LANE_WIDTH, (255,) * 3),
                          (LANE_WIDTH, (255,) * 3),
                          (-ROAD_HALF_WIDTH, (200,) * 3),
                          (ROAD_HALF_WIDTH, (200,) * 3)):
            xy = self.road.to_global(s, np.full_like(s, t))
            uv, front, _ = project(np.c_[xy, np.zeros(len(s))])
            # Draw each run of points in front of the camera separately.
            edges = np.flatnonzero(np.diff(np.r_[0, front.astype(int), 0]))
            for a, b in zip(edges[::2], edges[1::2]):
                if b - a > 1:
                    cv2.polylines(img, [uv[a:b].round().astype(np.int32)],
                                  False, colour, 1)
        boxes = []
        for i in visible:
            agent = self.agents[i]
            centre, yaw = agent.state(self.road, tau)
            w, l, h = agent.size
            corners = np.array([[x, y, z] for x in (-l / 2, l / 2)
                                for y in (-w / 2, w / 2)
                                for z in (-h / 2, h / 2)])
            c, s_ = math.cos(yaw), math.sin(yaw)
            corners = corners @ np.array([[c, s_, 0], [-s_, c, 0],
                                          [0, 0, 1]]) + centre
            uv, front, depth = project(corners)
            if front.all():
                boxes.append((depth.mean(), uv, OBJECT_TYPES[
                    agent.category][1]))
        for _, uv, colour in sorted(boxes, key=lambda b: -b[0]):
            hull = cv2.convexHull(uv.round().astype(np.int32))
            cv2.fillConvexPoly(img, hull, colour)
        return img

    # --------------------------------------------------------------- tables
    def write(self, log_token: str, start_us: int) -> None:
        """Simulates the scene and appends all its records."""
        tables, rng = self.tables, self.rng
        taus = KEYFRAME_PERIOD * np.arange(self.samples) + np.r_[
            0.0, rng.uniform(-0.005, 0.005, self.samples - 1)]
        stamps = [start_us + int(round(tau * 1e6)) for tau in taus]
        frames = self._annotated_frames(taus)
        logfile = tables.rows['log'][-1]['logfile']

        lidar_cs = tables.add(
            'calibrated_sensor', self.tok('cs', 'LIDAR_TOP'),
            sensor_token=make_token('sensor', 'LIDAR_TOP'),
            translation=list(LIDAR2EGO_TRANSLATION),
            rotation=yaw_quaternion(LIDAR2EGO_YAW), camera_intrinsic=[])
        lidar2ego = pose_matrix(LIDAR2EGO_YAW, LIDAR2EGO_TRANSLATION)
        width, height = self.image_size
        focal = 0.79 * width  # the nuScenes cameras' ~64 deg field of view
        intrinsic = np.array([[focal, 0, width / 2], [0, focal, height / 2],
                              [0, 0, 1.0]])
        cam_cs, cam2ego = {}, {}
        for cam in CAMERAS:
            yaw, trans, _ = CAMERA_MOUNTS[cam]
            cam2ego[cam] = camera_to_ego(yaw, trans)
            cam_cs[cam] = tables.add(
                'calibrated_sensor', self.tok('cs', cam),
                sensor_token=make_token('sensor', cam),
                translation=list(trans),
                rotation=rotation_to_quaternion(cam2ego[cam][:3, :3]),
                camera_intrinsic=intrinsic.tolist())

        # Occlude one labeled pedestrian frame in every other scene so that
        # some boxes have no lidar points.
        hidden = set()
        walker = next(i for i, a in enumerate(self.agents)
                      if a.attribute == 'pedestrian.moving')
        if self.index % 2 == 0 and len(frames[walker]):
            hidden.add((walker, frames[walker][0]))

        sample_tokens = [self.tok('sample', k) for k in range(self.samples)]
        samples = [dict(token=token, timestamp=stamps[k],
                        scene_token=self.tok('scene'))
                   for k, token in enumerate(sample_tokens)]
        tables.link('sample', samples)
        tables.rows['sample'].extend(samples)

        lidar_chain, cam_chains = [], {cam: [] for cam in CAMERAS}
        annotations = {i: [] for i in range(len(self.agents))}
        for k in range(self.samples):
            visible = [i for i, fr in enumerate(frames) if k in fr]
            # Key frame, then the sweeps up to the next key frame.
            sweep_taus = [taus[k]]
            if k + 1 < self.samples:
                sweep_taus += list(taus[k] + (taus[k + 1] - taus[k]) *
                                   np.arange(1, self.sweeps + 1) /
                                   (self.sweeps + 1))
            for j, tau in enumerate(sweep_taus):
                key = j == 0
                stamp = start_us + int(round(tau * 1e6))
                ego2global = self.ego_pose(tau)
                lidar2global = ego2global @ lidar2ego
                shown = [i for i in visible if (i, k) not in hidden] \
                    if key else [i for i in visible
                                 if k + 1 < self.samples and k + 1 in
                                 frames[i]]
                points = self._scan(tau, shown, lidar2global)
                if key:
                    self._annotate(k, sample_tokens[k], tau, visible, points,
                                   annotations)
                folder = 'samples' if key else 'sweeps'
                filename = (f'{folder}/LIDAR_TOP/{logfile}__LIDAR_TOP__'
                            f'{stamp}.pcd.bin')
                self._write_points(filename, points, lidar2global)
                lidar_chain.append(self._sample_data(
                    ('LIDAR_TOP', k, j), sample_tokens[k if key else k + 1],
                    stamp, ego2global, lidar_cs, filename, key, 0, 0, 'pcd'))
            for cam in CAMERAS:
                tau = taus[k] + CAMERA_MOUNTS[cam][2]
                stamp = start_us + int(round(tau * 1e6))
                ego2global = self.ego_pose(tau)
                filename = f'samples/{cam}/{logfile}__{cam}__{stamp}.jpg'
                img = self._render(ego2global @ cam2ego[cam], intrinsic, tau,
                                   visible)
                path = osp.join(self.root, filename)
                cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
                cam_chains[cam].append(self._sample_data(
                    (cam, k), sample_tokens[k], stamp, ego2global,
                    cam_cs[cam], filename, True, width, height, 'jpg'))
        for chain in [lidar_chain] + list(cam_chains.values()):
            tables.link('sample_data', chain)
            tables.rows['sample_data'].extend(chain)

        for i, anns in annotations.items():
            if not anns:
                continue
            tables.link('sample_annotation', anns)
            tables.rows['sample_annotation'].extend(anns)
            tables.add('instance', self.tok('instance', i),
                       category_token=make_token(
                           'category', self.agents[i].category),
                       nbr_annotations=len(anns),
                       first_annotation_token=anns[0]['token'],
                       last_annotation_token=anns[-1]['token'])
        tables.add('scene', self.tok('scene'), log_token=log_token,
                   nbr_samples=self.samples,
                   first_sample_token=sample_tokens[0],
                   last_sample_token=sample_tokens[-1], name=self.name,
                   description=f'Synthetic straight road in {self.location},'
                   f' ego at {self.ego_speed:.1f} m/s')

    def _sample_data(self, key: tuple, sample_token: str, stamp: int,
                     ego2global: np.ndarray, cs_token: str, filename: str,
                     is_key: bool, width: int, height: int,
                     fileformat: str) -> dict:
        pose = self.tables.add(
            'ego_pose', self.tok('ego_pose', *key), timestamp=stamp,
            rotation=yaw_quaternion(self.road.heading),
            translation=ego2global[:3, 3].tolist())
        return dict(token=self.tok('sample_data', *key),
                    sample_token=sample_token, ego_pose_token=pose,
                    calibrated_sensor_token=cs_token, timestamp=stamp,
                    fileformat=fileformat, is_key_frame=is_key,
                    height=height, width=width, filename=filename)

    def _annotate(self, k: int, sample_token: str, tau: float,
                  visible: List[int], points: np.ndarray,
                  annotations: Dict[int, list]) -> None:
        states = [self.agents[i].state(self.road, tau) for i in visible]
        centres = np.array([c for c, _ in states]).reshape(-1, 3)
        yaws = np.array([y for _, y in states])
        sizes = np.array([self.agents[i].size for i in visible]).reshape(
            -1, 3)
        counts = points_in_boxes(points[:, :3], centres, yaws, sizes).sum(0)
        for i, centre, yaw, count in zip(visible, centres, yaws, counts):
            agent = self.agents[i]
            vis = '1' if count == 0 else '2' if count < 10 else '4'
            attrs = [make_token('attribute', agent.attribute)] \
                if agent.attribute else []
            annotations[i].append(dict(
                token=self.tok('ann', i, k), sample_token=sample_token,
                instance_token=self.tok('instance', i),
                visibility_token=vis, attribute_tokens=attrs,
                translation=centre.tolist(), size=agent.size.tolist(),
                rotation=yaw_quaternion(yaw), num_lidar_pts=int(count),
                num_radar_pts=0))

    def _write_points(self, filename: str, points: np.ndarray,
                      lidar2global: np.ndarray) -> None:
        """Moves points to the lidar frame, adds ring ids, writes N x 5."""
        global2lidar = rigid_inverse(lidar2global)
        xyz = points[:, :3] @ global2lidar[:3, :3].T + global2lidar[:3, 3]
        elev = np.arctan2(xyz[:, 2], np.linalg.norm(xyz[:, :2], axis=1))
        step = RING_ELEVATIONS[1] - RING_ELEVATIONS[0]
        ring = np.clip(np.round((elev - RING_ELEVATIONS[0]) / step), 0,
                       len(RING_ELEVATIONS) - 1)
        out = np.concatenate([xyz, points[:, 3:4], ring[:, None]], 1)
        out.astype(np.float32).tofile(osp.join(self.root, filename))


def _layout_roads(plan: Sequence[Tuple[str, str, str]], samples: int,
                  seed: int) -> Dict[str, StraightRoad]:
    """One road per scene, laid on a grid of slots per location.

    Scenes beyond a location's capacity share roads, as real logs do.

    Returns:
        dict: scene name -> road.
    """
    half_length = 80.0 + MAX_EGO_SPEED * KEYFRAME_PERIOD * (samples - 1) / 2
    radius = half_length + 10.0
    pitch = 2 * radius + 20.0
    roads = {}
    for loc_id, location in enumerate(LOCATIONS):
        names = [n for n, loc, _ in plan if loc == location]
        # Every map has at least one road so NuScenesMap always has data.
        count = max(1, len(names))
        width, height = MAP_DIMS[location]
        cap_x = max(1, int((width - 40) // pitch))
        cap_y = max(1, int((height - 40) // pitch))
        cols = min(cap_x, math.ceil(math.sqrt(count)))
        slots = []
        for slot in range(min(count, cols * cap_y)):
            rng = np.random.default_rng([seed, loc_id, slot])
            centre = (20 + radius + (slot % cols) * pitch,
                      20 + radius + (slot // cols) * pitch)
            slots.append(StraightRoad(centre, rng.uniform(-math.pi, math.pi),
                                      half_length, drives_on_left(location)))
        roads[location] = slots
        for i, name in enumerate(names):
            roads[name] = slots[i % len(slots)]
    return roads


def create_synthetic_nuscenes(out_dir: str,
                              version: str = 'v1.0-mini',
                              num_scenes: int = 10,
                              samples_per_scene: int = 8,
                              sweeps_per_sample: int = 1,
                              image_size: Tuple[int, int] = (320, 180),
                              seed: int = 0) -> str:
    """Writes a synthetic nuScenes set that the devkit loads unchanged.

    Args:
        out_dir (str): the data root to create (may exist).
        version (str): 'v1.0-mini' (the real mini scene names, so the mini
            train/val split applies) or 'v1.0-trainval' (real trainval
            names, train/val about 80/20).
        num_scenes (int): number of scenes (at most 10 for v1.0-mini).
            With 4 or more, train and val each hold Boston and Singapore
            scenes; with 5 or more (mini) all four locations appear.
        samples_per_scene (int): key frames (2 Hz) per scene, at least 2.
        sweeps_per_sample (int): non-key lidar sweeps between key frames.
        image_size (tuple[int, int]): camera ``(width, height)``.
        seed (int): random seed; the output is a function of the arguments.

    Returns:
        str: the data root, ``out_dir``.
    """
    if version not in VERSIONS:
        raise ValueError(f'version must be one of {VERSIONS}, got '
                         f'{version!r}')
    if samples_per_scene < 2:
        raise ValueError(f'samples_per_scene must be >= 2, got '
                         f'{samples_per_scene}')
    if sweeps_per_sample < 0:
        raise ValueError(f'sweeps_per_sample must be >= 0, got '
                         f'{sweeps_per_sample}')
    width, height = (int(v) for v in image_size)
    if width < 16 or height < 16:
        raise ValueError(f'image_size must be at least 16x16, got '
                         f'{image_size}')
    plan = plan_scenes(version, num_scenes)
    roads = _layout_roads(plan, samples_per_scene, seed)
    for folder in ['LIDAR_TOP', *CAMERAS]:
        os.makedirs(osp.join(out_dir, 'samples', folder), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'sweeps', 'LIDAR_TOP'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'maps', 'expansion'), exist_ok=True)

    tables = _Tables()
    for name in CATEGORIES:
        tables.add('category', make_token('category', name), name=name,
                   description=f'nuScenes category {name}')
    for name in ATTRIBUTES:
        tables.add('attribute', make_token('attribute', name), name=name,
                   description=f'nuScenes attribute {name}')
    for token, level in VISIBILITIES:
        tables.add('visibility', token, level=level,
                   description=f'visibility of the box: {level}')
    tables.add('sensor', make_token('sensor', 'LIDAR_TOP'),
               channel='LIDAR_TOP', modality='lidar')
    for cam in CAMERAS:
        tables.add('sensor', make_token('sensor', cam), channel=cam,
                   modality='camera')

    log_tokens = {loc: [] for loc in LOCATIONS}
    for index, (name, location, _) in enumerate(plan):
        number = int(name.split('-')[-1])
        boston = location.startswith('boston')
        start = datetime(2018, 8 if boston else 7, 1 + number % 28,
                         8 + number % 10, number % 60, tzinfo=timezone.utc)
        offset = '-0400' if boston else '+0800'
        logfile = (f'{"n008" if boston else "n015"}-'
                   f'{start.strftime("%Y-%m-%d-%H-%M-%S")}{offset}')
        log = tables.add('log', make_token(seed, 'log', name),
                         logfile=logfile,
                         vehicle='n008' if boston else 'n015',
                         date_captured=start.strftime('%Y-%m-%d'),
                         location=location)
        log_tokens[location].append(log)
        writer = _SceneWriter(out_dir, tables, seed, name, location,
                              roads[name], index, samples_per_scene,
                              sweeps_per_sample, (width, height))
        writer.write(log, int(start.timestamp() * 1e6))

    for location in LOCATIONS:
        builder = MapExpansionBuilder(location)
        seen = []
        for road in roads[location]:
            if all(road is not r for r in seen):
                builder.add_road(road)
                seen.append(road)
        with open(osp.join(out_dir, 'maps', 'expansion',
                           f'{location}.json'), 'w') as f:
            json.dump(builder.to_json(), f)
        token = make_token(seed, 'map', location)
        filename = f'maps/{token}.png'
        cv2.imwrite(osp.join(out_dir, filename), builder.semantic_prior(),
                    [cv2.IMWRITE_PNG_COMPRESSION, 1])
        tables.add('map', token, log_tokens=log_tokens[location],
                   category='semantic_prior', filename=filename)

    tables.dump(osp.join(out_dir, version))
    update_splits_json(out_dir, version,
                       location_scene_splits(out_dir, version))
    return out_dir
