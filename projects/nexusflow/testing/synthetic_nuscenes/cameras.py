"""The six simulated cameras: their mounts, intrinsics and a simple
renderer (sky, ground, road markings, objects as filled hulls)."""
import math
from typing import Sequence, Tuple

import cv2
import numpy as np

from ...structures.poses import rigid_inverse
from .agents import OBJECT_TYPES, Agent
from .geometry import box_corners
from .map_expansion import LANE_WIDTH, ROAD_HALF_WIDTH, StraightRoad

# name: (yaw in the ego frame, translation, timestamp offset to the lidar)
CAMERA_MOUNTS = {
    'CAM_FRONT': (0.0, (1.70, 0.0, 1.51), 0.010),
    'CAM_FRONT_RIGHT': (-math.radians(55), (1.55, -0.49, 1.52), 0.018),
    'CAM_FRONT_LEFT': (math.radians(55), (1.52, 0.49, 1.51), 0.002),
    'CAM_BACK': (math.pi, (0.03, 0.0, 1.57), 0.043),
    'CAM_BACK_LEFT': (math.radians(110), (1.04, 0.48, 1.56), -0.030),
    'CAM_BACK_RIGHT': (-math.radians(110), (1.03, -0.48, 1.57), 0.035),
}
# Road lines drawn in the images: (lateral offset t, BGR colour).
ROAD_LINES = ((0.0, (0, 220, 255)), (-LANE_WIDTH, (255,) * 3),
              (LANE_WIDTH, (255,) * 3), (-ROAD_HALF_WIDTH, (200,) * 3),
              (ROAD_HALF_WIDTH, (200,) * 3))
SKY, GROUND = (235, 206, 135), (90, 90, 90)
# The nuScenes cameras' (width, height): what the full-size UniAD configs
# are built for (the generator's default is a small 320 x 180).
FULL_RESOLUTION = (1600, 900)


def camera_intrinsic(width: int, height: int) -> np.ndarray:
    """A pinhole camera centred on the image.

    Args:
        width (int): image width in pixels.
        height (int): image height in pixels.

    Returns:
        np.ndarray: ``(3, 3)`` intrinsic matrix.
    """
    focal = 0.79 * width  # the nuScenes cameras' ~64 deg field of view
    return np.array([[focal, 0, width / 2], [0, focal, height / 2],
                     [0, 0, 1.0]])


def render(image_size: Tuple[int, int], cam2global: np.ndarray,
           intrinsic: np.ndarray, road: StraightRoad, ego_s: float,
           agents: Sequence[Agent], visible: Sequence[int],
           tau: float) -> np.ndarray:
    """One camera image.

    Args:
        image_size (tuple[int, int]): ``(width, height)``.
        cam2global (np.ndarray): 4x4 camera pose.
        intrinsic (np.ndarray): ``(3, 3)`` from :func:`camera_intrinsic`.
        road (StraightRoad): the scene's road.
        ego_s (float): the ego's along-road position (lines are drawn 60 m
            either side of it).
        agents (Sequence[Agent]): the scene's agents.
        visible (Sequence[int]): indices of the agents to draw.
        tau (float): seconds since the scene start.

    Returns:
        np.ndarray: ``(height, width, 3)`` BGR ``uint8`` image.
    """
    width, height = image_size
    img = np.empty((height, width, 3), np.uint8)
    horizon = int(round(intrinsic[1, 2]))
    img[:horizon] = SKY
    img[horizon:] = GROUND
    global2cam = rigid_inverse(cam2global)

    def project(xyz):
        cam = xyz @ global2cam[:3, :3].T + global2cam[:3, 3]
        front = cam[:, 2] > 0.5
        uv = cam[:, :2] / np.maximum(cam[:, 2:3], 1e-6)
        uv = uv * intrinsic[[0, 1], [0, 1]] + intrinsic[:2, 2]
        return uv, front, cam[:, 2]

    s = np.arange(ego_s - 60, ego_s + 60, 1.0)
    for t, colour in ROAD_LINES:
        xy = road.to_global(s, np.full_like(s, t))
        uv, front, _ = project(np.c_[xy, np.zeros(len(s))])
        # Draw each run of points in front of the camera separately.
        edges = np.flatnonzero(np.diff(np.r_[0, front.astype(int), 0]))
        for a, b in zip(edges[::2], edges[1::2]):
            if b - a > 1:
                cv2.polylines(img, [uv[a:b].round().astype(np.int32)],
                              False, colour, 1)
    boxes = []
    for i in visible:
        agent = agents[i]
        centre, yaw = agent.state(road, tau)
        uv, front, depth = project(box_corners(centre, yaw, agent.size))
        if front.all():
            boxes.append((depth.mean(), uv, OBJECT_TYPES[agent.category][1]))
    # Far to near, so nearer objects cover farther ones.
    for _, uv, colour in sorted(boxes, key=lambda b: -b[0]):
        hull = cv2.convexHull(uv.round().astype(np.int32))
        cv2.fillConvexPoly(img, hull, colour)
    return img
