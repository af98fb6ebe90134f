"""The simulated LIDAR_TOP: ray-cast ground rings plus points on the object
surfaces, written as the devkit's float32 ``N x 5`` ``.pcd.bin`` files."""
import math
from typing import Tuple

import numpy as np

from ...structures.poses import rigid_inverse
from .geometry import points_in_boxes, yaw_rotation
from .map_expansion import (CROSSING_WIDTH, LANE_WIDTH, ROAD_HALF_WIDTH,
                            StraightRoad)

LIDAR_RANGE = 60.0
LIDAR2EGO_TRANSLATION = (0.943713, 0.0, 1.84023)
LIDAR2EGO_YAW = -math.pi / 2  # LIDAR_TOP: x to the right, y forward
# HDL-32E ring elevations, lowest first.
RING_ELEVATIONS = np.deg2rad(np.linspace(-30.67, 10.67, 32))
RING_AZIMUTHS = 180

Boxes = Tuple[np.ndarray, np.ndarray, np.ndarray]


def scan(rng: np.random.Generator, road: StraightRoad, boxes: Boxes,
         lidar2global: np.ndarray) -> np.ndarray:
    """One simulated sweep in global coordinates.

    Args:
        rng (np.random.Generator): the scene's generator (advanced here).
        road (StraightRoad): the scene's road (painted markings).
        boxes (tuple[np.ndarray]): centres ``(M, 3)``, yaws ``(M,)`` and
            sizes ``(M, 3)`` of the objects the sweep sees.
        lidar2global (np.ndarray): 4x4 sensor pose.

    Returns:
        np.ndarray: ``(N, 4)`` x, y, z, intensity; the ring id is added by
        :func:`write_points`.
    """
    height = LIDAR2EGO_TRANSLATION[2]
    # Only the rings that hit the ground within range.
    elev = RING_ELEVATIONS[RING_ELEVATIONS < -math.atan(height /
                                                        LIDAR_RANGE)]
    az = np.linspace(0, 2 * np.pi, RING_AZIMUTHS, endpoint=False)
    rad = height / np.tan(-elev)[:, None] * rng.uniform(
        0.99, 1.01, (len(elev), len(az)))
    local = np.stack([rad * np.cos(az), rad * np.sin(az),
                      np.full_like(rad, -height)], -1).reshape(-1, 3)
    ground = local @ lidar2global[:3, :3].T + lidar2global[:3, 3]
    ground[:, 2] = 0.0
    intensity = ground_intensity(rng, road, ground[:, :2])

    centres, yaws, sizes = boxes
    # Objects hide the ground under them.
    keep = ~points_in_boxes(ground + [0, 0, 0.5], centres, yaws,
                            sizes).any(1)
    parts = [np.concatenate([ground[keep], intensity[keep, None]], 1)]
    sensor = lidar2global[:3, 3]
    for centre, yaw, size in zip(centres, yaws, sizes):
        # Nearer and larger objects get more points, as a real sweep would.
        dist = max(np.linalg.norm(centre[:2] - sensor[:2]), 5.0)
        num = int(np.clip(1200 * math.sqrt(size[1] * size[2]) / dist,
                          4, 160))
        pts = surface_points(rng, size, num)
        pts = pts @ yaw_rotation(yaw) + centre
        inten = np.full((num, 1), rng.uniform(20, 100))
        parts.append(np.concatenate([pts, inten], 1))
    return np.concatenate(parts)


def surface_points(rng: np.random.Generator, size: np.ndarray,
                   num: int) -> np.ndarray:
    """Points on the four sides and the top of a box.

    Args:
        rng (np.random.Generator): the scene's generator (advanced here).
        size (np.ndarray): ``(width, length, height)``.
        num (int): number of points; faces are drawn by area.

    Returns:
        np.ndarray: ``(num, 3)`` in the box frame (centred, x along the
        length), slightly inside the box so they count as in it.
    """
    w, l, h = size * 0.97
    areas = np.array([w * h, w * h, l * h, l * h, l * w])
    face = rng.choice(5, size=num, p=areas / areas.sum())
    u = rng.uniform(-0.5, 0.5, (num, 3)) * [l, w, h]
    u[face == 0, 0], u[face == 1, 0] = l / 2, -l / 2
    u[face == 2, 1], u[face == 3, 1] = w / 2, -w / 2
    u[face == 4, 2] = h / 2
    return u


def ground_intensity(rng: np.random.Generator, road: StraightRoad,
                     xy: np.ndarray) -> np.ndarray:
    """Ground reflectivity: painted markings (dividers, road edges,
    crossings) are bright.

    Args:
        rng (np.random.Generator): the scene's generator (advanced here).
        road (StraightRoad): the scene's road.
        xy (np.ndarray): ``(N, 2)`` global ground positions.

    Returns:
        np.ndarray: ``(N,)`` intensities.
    """
    rel = xy - road.origin
    s = rel @ road.direction
    t = rel @ road.normal
    lines = np.array([0.0, -LANE_WIDTH, LANE_WIDTH, -ROAD_HALF_WIDTH,
                      ROAD_HALF_WIDTH])
    marked = (np.abs(t[:, None] - lines[None]) < 0.15).any(1)
    crossings = np.array(road.crossings())
    in_crossing = (np.abs(s[:, None] - crossings[None]) <
                   CROSSING_WIDTH / 2).any(1) & (np.abs(t) <
                                                 ROAD_HALF_WIDTH)
    out = rng.uniform(2, 12, len(xy))
    out[in_crossing] = 40.0
    out[marked] = 60.0
    return out


def write_points(path: str, points: np.ndarray,
                 lidar2global: np.ndarray) -> None:
    """Moves points to the lidar frame, adds ring ids, writes ``N x 5``.

    Args:
        path (str): the ``.pcd.bin`` file to write.
        points (np.ndarray): ``(N, 4)`` global x, y, z, intensity.
        lidar2global (np.ndarray): 4x4 sensor pose.
    """
    global2lidar = rigid_inverse(lidar2global)
    xyz = points[:, :3] @ global2lidar[:3, :3].T + global2lidar[:3, 3]
    elev = np.arctan2(xyz[:, 2], np.linalg.norm(xyz[:, :2], axis=1))
    step = RING_ELEVATIONS[1] - RING_ELEVATIONS[0]
    ring = np.clip(np.round((elev - RING_ELEVATIONS[0]) / step), 0,
                   len(RING_ELEVATIONS) - 1)
    out = np.concatenate([xyz, points[:, 3:4], ring[:, None]], 1)
    out.astype(np.float32).tofile(path)
