"""Helpers of the visualization tests: hand-made frames with known boxes
and cameras, and pixel look-ups."""
from typing import Sequence, Tuple

import numpy as np

IMG_W, IMG_H, FOCAL = 320, 180, 150.0
# Camera axes in the LiDAR frame (x right, y down, z forward per camera).
CAMERA_AXES = {
    'CAM_FRONT': ((0, -1, 0), (0, 0, -1), (1, 0, 0)),
    'CAM_BACK': ((0, 1, 0), (0, 0, -1), (-1, 0, 0)),
}


def lidar2img(camera: str) -> np.ndarray:
    """A pinhole camera at the LiDAR origin looking along +x (front) or -x
    (back)."""
    rot = np.asarray(CAMERA_AXES[camera], dtype=np.float64)
    intrinsic = np.array([[FOCAL, 0, IMG_W / 2], [0, FOCAL, IMG_H / 2],
                          [0, 0, 1]])
    out = np.eye(4)
    out[:3, :3] = intrinsic @ rot
    return out


def project(point: Sequence[float], camera: str) -> Tuple[float, float]:
    """Pixel of a LiDAR point in one of the cameras above."""
    uvw = lidar2img(camera) @ np.append(np.asarray(point, float), 1.0)
    return uvw[0] / uvw[2], uvw[1] / uvw[2]


def pose(x: float = 0.0, y: float = 0.0, yaw: float = 0.0) -> np.ndarray:
    """A 4x4 LiDAR-to-global pose."""
    out = np.eye(4)
    out[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    out[:2, 3] = x, y
    return out


def box(x: float, y: float, yaw: float = 0.0, length: float = 4.0,
        width: float = 2.0) -> list:
    """An (x, y, z, l, w, h, yaw, vx, vy) LiDAR box on the ground."""
    return [x, y, -1.8, length, width, 1.6, yaw, 0.0, 0.0]


def make_frame(pred_boxes=(), track_ids=(), gt_boxes=(), scene='scene-a',
               frame_idx=0, lidar2global=None, with_images=True,
               canvas=(200, 200)):
    """A FrameData with a map (a drivable strip), two cameras (front,
    back) with grey images, and the given boxes."""
    from nexusflow.visualization import FrameData
    gt_map = np.zeros((4, *canvas), np.float32)
    gt_map[3, :, 90:110] = 1  # drivable where -5 m < x < 5 m
    frame = FrameData(
        token=f'{scene}-{frame_idx}', scene_name=scene, frame_idx=frame_idx,
        location='boston-seaport',
        lidar2global=pose() if lidar2global is None else lidar2global,
        gt_map=gt_map, pred_map=gt_map * 0.5,
        gt_boxes=np.asarray(gt_boxes, float).reshape(-1, 9),
        gt_ids=list(range(len(gt_boxes))),
        pred_boxes=np.asarray(pred_boxes, float).reshape(-1, 9),
        track_ids=list(track_ids), scores=[0.9] * len(track_ids))
    if with_images:
        frame.images = [np.full((IMG_H, IMG_W, 3), 90, np.uint8)
                        for _ in range(2)]
        frame.lidar2img = [lidar2img('CAM_FRONT'), lidar2img('CAM_BACK')]
        frame.img_paths = ['/d/samples/CAM_FRONT/a.jpg',
                           '/d/samples/CAM_BACK/b.jpg']
    return frame


def has_color(image, color, centre, radius: int = 2) -> bool:
    """Whether a pixel of ``color`` lies within ``radius`` of ``centre``
    ``(col, row)``."""
    pixels = np.asarray(image)
    col, row = int(round(centre[0])), int(round(centre[1]))
    patch = pixels[max(row - radius, 0):row + radius + 1,
                   max(col - radius, 0):col + radius + 1]
    return bool((patch == np.asarray(color)).all(-1).any())


def color_pixels(image, color) -> np.ndarray:
    """``(N, 2)`` ``(col, row)`` of every pixel of exactly ``color``."""
    rows, cols = np.nonzero((np.asarray(image) == np.asarray(color)).all(-1))
    return np.stack([cols, rows], 1)
