"""The camera panel: the six images with the 3D boxes projected.

Corners are projected with mmdet3d's ``proj_lidar_bbox3d_to_img`` (the
sample's ``lidar2img``, which the pipeline keeps in step with any resize);
a box is drawn in a camera only when all its corners are in front of it
(mmdet3d clamps the depth of the others, which would draw them mirrored).
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from mmdet3d.structures import LiDARInstance3DBoxes
from mmdet3d.visualization.vis_utils import proj_lidar_bbox3d_to_img
from ..structures.nuscenes_meta import CAMERAS
from .palette import BACKGROUND, RGB, TEXT
from .text import draw_label

# Grid of the panel: the left cameras in the left column, so a row reads
# like the view from the car (front row) or over its back (back row).
LAYOUT = (('CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT'),
          ('CAM_BACK_LEFT', 'CAM_BACK', 'CAM_BACK_RIGHT'))
# mmdet3d's corner order (x0y0z0, x0y0z1, x0y1z1, x0y1z0, x1y0z0, ...):
# the 12 edges of the box.
EDGES = ((0, 1), (0, 3), (0, 4), (1, 2), (1, 5), (3, 2), (3, 7), (4, 5),
         (4, 7), (2, 6), (5, 6), (6, 7))
# Corners 4..7 are the front face (local +x, the heading).
FRONT_FACE = ((4, 6), (5, 7))
MIN_DEPTH = 0.1  # metres in front of the camera


def camera_names(img_paths: Optional[Sequence[str]],
                 num: int) -> List[str]:
    """The channel of each image, read from its path (``.../CAM_FRONT/...``)
    or, when the paths do not say, the devkit's order.

    Args:
        img_paths (Sequence[str], optional): the sample's ``img_path``.
        num (int): number of images.

    Returns:
        list[str]: one name per image.
    """
    names = []
    for n in range(num):
        path = img_paths[n] if img_paths and n < len(img_paths) else ''
        found = [c for c in CAMERAS if c in osp.basename(osp.dirname(path))
                 or f'__{c}__' in osp.basename(path)]
        # CAM_BACK is a prefix of CAM_BACK_LEFT: the longest match wins.
        names.append(max(found, key=len) if found else
                     (CAMERAS[n] if n < len(CAMERAS) else f'CAM_{n}'))
    return names


def project_boxes(boxes: np.ndarray,
                  lidar2img: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Image coordinates of the box corners in one camera.

    Args:
        boxes (np.ndarray): ``(N, >= 7)`` LiDAR boxes.
        lidar2img (np.ndarray): 4x4 (or 3x4) LiDAR-to-image matrix.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(N, 8, 2)`` pixel coordinates and
        ``(N,)`` whether every corner is in front of the camera.
    """
    if len(boxes) == 0:
        return np.zeros((0, 8, 2)), np.zeros(0, bool)
    matrix = np.eye(4)
    lidar2img = np.asarray(lidar2img, dtype=np.float64)
    matrix[:lidar2img.shape[0], :lidar2img.shape[1]] = lidar2img
    boxes3d = LiDARInstance3DBoxes(
        np.asarray(boxes, dtype=np.float32), box_dim=boxes.shape[1])
    uv = proj_lidar_bbox3d_to_img(boxes3d, dict(lidar2img=matrix))
    corners = boxes3d.corners.numpy().astype(np.float64)  # (N, 8, 3)
    depth = corners @ matrix[2, :3] + matrix[2, 3]
    return uv, (depth > MIN_DEPTH).all(1)


def draw_projected(image: Image.Image, boxes: np.ndarray,
                   lidar2img: np.ndarray, colors: Sequence[RGB],
                   zoom: float = 1.0, width: int = 2) -> int:
    """Draws the boxes visible in one camera onto its (resized) image.

    Args:
        image (PIL.Image.Image): the camera image, resized by ``zoom``.
        boxes (np.ndarray): ``(N, >= 7)`` LiDAR boxes.
        lidar2img (np.ndarray): the camera's matrix for the original size.
        colors (Sequence[RGB]): one colour per box.
        zoom (float): displayed size / original size.
        width (int): line width.

    Returns:
        int: the number of boxes drawn.
    """
    uv, in_front = project_boxes(boxes, lidar2img)
    draw = ImageDraw.Draw(image)
    w, h = image.size
    drawn = 0
    for corners, ok, color in zip(uv * zoom, in_front, colors):
        if not ok:
            continue
        lo, hi = corners.min(0), corners.max(0)
        if hi[0] < 0 or hi[1] < 0 or lo[0] >= w or lo[1] >= h:
            continue
        for a, b in EDGES + FRONT_FACE:
            draw.line([tuple(corners[a]), tuple(corners[b])], fill=color,
                      width=width)
        drawn += 1
    return drawn


def to_rgb_uint8(image) -> np.ndarray:
    """A loaded camera image as ``(H, W, 3)`` RGB uint8.

    Args:
        image (Tensor | np.ndarray): ``(3, H, W)`` as packed by the
            pipeline or ``(H, W, 3)``, BGR (mmcv's loading order), 0-255.

    Returns:
        np.ndarray: RGB uint8.
    """
    if hasattr(image, 'detach'):
        image = image.detach().cpu().numpy()
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] == 3 and image.shape[-1] != 3:
        image = image.transpose(1, 2, 0)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f'camera image must be (3, H, W) or (H, W, 3), got '
                         f'shape {image.shape}')
    return np.clip(image[..., ::-1], 0, 255).astype(np.uint8)


def render_cameras(images: Optional[Sequence[np.ndarray]],
                   lidar2img: Optional[Sequence[np.ndarray]],
                   boxes: np.ndarray,
                   colors: Sequence[RGB],
                   tile_size: Tuple[int, int],
                   img_paths: Optional[Sequence[str]] = None
                   ) -> Image.Image:
    """The 2 x 3 grid of camera tiles with the projected boxes.

    Args:
        images (Sequence[np.ndarray], optional): ``(H, W, 3)`` RGB uint8,
            one per camera (None: blank tiles with the camera names).
        lidar2img (Sequence[np.ndarray], optional): one matrix per image.
        boxes (np.ndarray): ``(N, >= 7)`` LiDAR boxes.
        colors (Sequence[RGB]): one colour per box.
        tile_size (tuple[int, int]): ``(width, height)`` of a tile.
        img_paths (Sequence[str], optional): the images' paths, for the
            camera names.

    Returns:
        PIL.Image.Image: RGB of ``(3 * width, 2 * height)``.
    """
    tile_w, tile_h = tile_size
    panel = Image.new('RGB', (3 * tile_w, 2 * tile_h), BACKGROUND)
    images = list(images or [])
    names = camera_names(img_paths, len(images))
    by_name = dict(zip(names, range(len(images))))
    draw = ImageDraw.Draw(panel)
    for r, row in enumerate(LAYOUT):
        for c, name in enumerate(row):
            x0, y0 = c * tile_w, r * tile_h
            n = by_name.get(name)
            if n is not None:
                src = images[n]
                zoom = min(tile_w / src.shape[1], tile_h / src.shape[0])
                size = (max(1, round(src.shape[1] * zoom)),
                        max(1, round(src.shape[0] * zoom)))
                tile = Image.fromarray(src).resize(size, Image.BILINEAR)
                if lidar2img is not None and n < len(lidar2img):
                    draw_projected(tile, boxes, lidar2img[n], colors, zoom)
                panel.paste(tile, (x0, y0))
            draw_label(draw, (x0 + 3, y0 + 2),
                       name.replace('CAM_', '').lower(), TEXT, size=10)
    return panel
