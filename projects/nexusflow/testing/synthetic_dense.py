"""Synthetic NYUv2 / Cityscapes sets in the MTAN ``.npy`` layout.

Every image is a ray-cast render of one small 3D scene (a room, or a street
between facades, with boxes standing on the floor), so segmentation, depth
and normals are consistent with each other and learnable from the image:
classes have their own colours and the shading follows the normals.
"""
import os
import os.path as osp
from typing import Callable, Dict, Tuple

import numpy as np

from ..datasets.dense.label_weights import (make_label_weights,
                                            save_label_weights)

# NYUv2 13-class ids (see NYUV2_CLASSES).
NYU_CEILING, NYU_FLOOR, NYU_PICTURE, NYU_WALL, NYU_WINDOW = 2, 4, 7, 11, 12
NYU_BOX_CLASSES = (0, 3, 5, 6, 8, 9, 10)
# Cityscapes 19-class train ids and their 7-class groups.
CS_ROAD, CS_SIDEWALK, CS_BUILDING, CS_POLE, CS_VEGETATION, CS_SKY = \
    0, 1, 2, 5, 8, 10
CS_PERSON, CS_CAR = 11, 13
CS_19_TO_7 = np.array([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 6, 6, 6, 6, 6,
                       6])


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    """Camera-to-world rotation (x right, y down, z forward)."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    rot_yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_pitch = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rot_yaw @ rot_pitch


def _camera_rays(height: int, width: int) -> np.ndarray:
    """(H, W, 3) rays with z = 1 in the camera frame (z-depth = t)."""
    focal = 0.8 * width
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([(u + 0.5 - width / 2) / focal,
                     (v + 0.5 - height / 2) / focal,
                     np.ones_like(u)], axis=-1)


def _slab_times(origin: np.ndarray, rays: np.ndarray, low: np.ndarray,
                high: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Ray parameters of the two slab planes per axis, (..., 3) each."""
    safe = np.where(np.abs(rays) < 1e-12, 1e-12, rays)
    first = (low - origin) / safe
    second = (high - origin) / safe
    return np.minimum(first, second), np.maximum(first, second)


def raycast(origin: np.ndarray, rays: np.ndarray, room: np.ndarray,
            boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest hit of each ray in a room (seen from inside) with boxes.

    Args:
        origin (np.ndarray): (3,) camera centre, inside ``room``.
        rays (np.ndarray): (..., 3) world directions.
        room (np.ndarray): (2, 3) min / max corners.
        boxes (np.ndarray): (K, 2, 3) min / max corners.

    Returns:
        tuple: ``t`` (...) ray parameter, ``normal`` (..., 3) unit world
        normal facing the ray, ``hit`` (...) int: ``2 * axis + side`` for a
        room face (side 1 = max face), ``6 + k`` for box k.
    """
    _, far = _slab_times(origin, rays, room[0], room[1])
    axis = far.argmin(axis=-1)
    t = np.take_along_axis(far, axis[..., None], -1)[..., 0]
    dir_on_axis = np.take_along_axis(rays, axis[..., None], -1)[..., 0]
    side = (dir_on_axis > 0).astype(np.int64)
    hit = 2 * axis + side
    hit_axis = axis.copy()
    for index, box in enumerate(boxes):
        near, far = _slab_times(origin, rays, box[0], box[1])
        t_near, t_far = near.max(axis=-1), far.min(axis=-1)
        closer = (t_near <= t_far) & (t_near > 1e-6) & (t_near < t)
        t = np.where(closer, t_near, t)
        hit = np.where(closer, 6 + index, hit)
        hit_axis = np.where(closer, near.argmax(axis=-1), hit_axis)
    normal = np.zeros(rays.shape)
    dir_on_hit = np.take_along_axis(rays, hit_axis[..., None], -1)[..., 0]
    np.put_along_axis(normal, hit_axis[..., None],
                      -np.sign(dir_on_hit)[..., None], -1)
    return t, normal, hit


def _render(rng: np.random.Generator, height: int, width: int,
            origin: np.ndarray, rotation: np.ndarray, room: np.ndarray,
            boxes: np.ndarray, label_of: Callable, palette: np.ndarray,
            invalid: Callable) -> Dict[str, np.ndarray]:
    """Ray-casts one scene and returns image, label, depth and normal."""
    rays_cam = _camera_rays(height, width)
    rays = rays_cam @ rotation.T
    t, normal_world, hit = raycast(origin, rays, room, boxes)
    points = origin + t[..., None] * rays
    label = label_of(hit, points)
    depth = t.copy()  # camera rays have z = 1, so t is the z-depth
    normal = normal_world @ rotation  # world -> camera frame
    light = np.array([0.3, -0.8, -0.5])
    light /= np.linalg.norm(light)
    shade = 0.45 + 0.55 * np.clip(normal_world @ -light, 0, 1)
    colour = palette[np.clip(label, 0, len(palette) - 1)]
    image = colour * shade[..., None] / (1 + 0.04 * depth[..., None])
    image += rng.normal(0, 0.02, image.shape)
    bad = invalid(label)
    depth[bad] = 0.0
    normal[bad] = 0.0
    label = np.where(bad & (label < 0), -1, label)
    return dict(image=np.clip(image, 0, 1).astype(np.float32),
                label=label.astype(np.float32),
                depth=depth[..., None].astype(np.float32),
                normal=normal.astype(np.float32))


def _room_scene(rng: np.random.Generator, height: int, width: int
                ) -> Dict[str, np.ndarray]:
    """An NYUv2-like room: floor, walls, ceiling, furniture boxes."""
    cam_height = rng.uniform(1.1, 1.6)
    room = np.array([[-rng.uniform(1.5, 3), -rng.uniform(1.0, 1.6), -0.5],
                     [rng.uniform(1.5, 3), cam_height,
                      rng.uniform(4, 7)]])
    boxes, classes = [], []
    for _ in range(rng.integers(1, 4)):
        size = rng.uniform([0.4, 0.4, 0.4], [1.4, 1.1, 1.2])
        x = rng.uniform(room[0, 0], room[1, 0] - size[0])
        z = rng.uniform(1.5, room[1, 2] - size[2])
        boxes.append([[x, cam_height - size[1], z],
                      [x + size[0], cam_height, z + size[2]]])
        classes.append(rng.choice(NYU_BOX_CLASSES))
    boxes = np.array(boxes).reshape(-1, 2, 3)
    # A picture or window patch on the back wall, as (x0, x1, y0, y1).
    patch = (rng.uniform(-1, 0), rng.uniform(0.2, 1),
             rng.uniform(-0.8, -0.4), rng.uniform(-0.2, 0.3))
    patch_class = rng.choice([NYU_PICTURE, NYU_WINDOW])

    def label_of(hit, points):
        label = np.full(hit.shape, NYU_WALL)
        label[hit == 2] = NYU_CEILING
        label[hit == 3] = NYU_FLOOR
        on_patch = (hit == 5) & (points[..., 0] > patch[0]) & \
            (points[..., 0] < patch[1]) & (points[..., 1] > patch[2]) & \
            (points[..., 1] < patch[3])
        label[on_patch] = patch_class
        for index, cls in enumerate(classes):
            label[hit == 6 + index] = cls
        return label

    palette = rng.uniform(0.1, 0.9, (13, 3)) * 0.3 + _NYU_PALETTE * 0.7
    rotation = _rotation(rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.1))
    sample = _render(rng, height, width, np.zeros(3), rotation, room, boxes,
                     label_of, palette,
                     lambda label: rng.random(label.shape) < 0.01)
    return sample


def _street_scene(rng: np.random.Generator, height: int, width: int
                  ) -> Dict[str, np.ndarray]:
    """A Cityscapes-like street: road, sidewalks, facades, sky, objects."""
    cam_height = 1.5
    room = np.array([[-rng.uniform(7, 11), -rng.uniform(6, 14), -1.0],
                     [rng.uniform(7, 11), cam_height, 60.0]])
    road_half = rng.uniform(3.5, 5.5)
    kinds = dict(car=(CS_CAR, [1.7, 1.5, 4.0]), person=(CS_PERSON,
                                                        [0.5, 1.75, 0.5]),
                 pole=(CS_POLE, [0.2, 4.0, 0.2]),
                 tree=(CS_VEGETATION, [1.5, 3.5, 1.5]))
    boxes, classes = [], []
    for _ in range(rng.integers(2, 6)):
        kind = rng.choice(list(kinds))
        cls, size = kinds[kind]
        size = np.array(size) * rng.uniform(0.85, 1.15)
        if kind == 'car':
            x = rng.uniform(-road_half, road_half - size[0])
        else:
            side = rng.choice([-1, 1])
            x = side * rng.uniform(road_half + 0.3, road_half + 2) - \
                size[0] / 2
        z = rng.uniform(4, 40)
        boxes.append([[x, cam_height - size[1], z],
                      [x + size[0], cam_height, z + size[2]]])
        classes.append(cls)
    boxes = np.array(boxes).reshape(-1, 2, 3)

    def label_of(hit, points):
        label = np.full(hit.shape, CS_BUILDING)
        label[(hit == 2) | (hit == 5)] = CS_SKY
        ground = hit == 3
        label[ground] = np.where(np.abs(points[..., 0]) < road_half,
                                 CS_ROAD, CS_SIDEWALK)[ground]
        for index, cls in enumerate(classes):
            label[hit == 6 + index] = cls
        return label

    palette = rng.uniform(0.1, 0.9, (19, 3)) * 0.3 + _CS_PALETTE * 0.7
    rotation = _rotation(rng.uniform(-0.15, 0.15), rng.uniform(-0.05, 0.05))
    # The sky has no depth in Cityscapes' disparity maps.
    return _render(rng, height, width, np.zeros(3), rotation, room, boxes,
                   label_of, palette, lambda label: label == CS_SKY)


_NYU_PALETTE = np.random.default_rng(13).uniform(0.05, 0.95, (13, 3))
_CS_PALETTE = np.random.default_rng(19).uniform(0.05, 0.95, (19, 3))


def _write(root: str, split: str, index: int,
           arrays: Dict[str, np.ndarray]) -> None:
    for folder, array in arrays.items():
        path = osp.join(root, split, folder)
        os.makedirs(path, exist_ok=True)
        np.save(osp.join(path, f'{index}.npy'), array)


def create_synthetic_nyuv2(root: str, num_train: int = 8, num_val: int = 4,
                           size: Tuple[int, int] = (288, 384),
                           seed: int = 0) -> str:
    """Writes a synthetic NYUv2 set in the MTAN layout.

    Also writes ``onelabel.pth`` and ``randomlabels.pth`` for its train
    split, drawn with the official statistics.

    Args:
        root (str): output root (``train/`` and ``val/`` are created).
        num_train (int): training images. Defaults to 8.
        num_val (int): validation images. Defaults to 4.
        size (tuple[int, int]): (H, W). Defaults to the real (288, 384).
        seed (int): random seed. Defaults to 0.

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('val', num_val)):
        for index in range(count):
            sample = _room_scene(rng, *size)
            _write(root, split, index, sample)
    for setting in ('onelabel', 'randomlabels'):
        save_label_weights(osp.join(root, f'{setting}.pth'),
                           make_label_weights(setting, num_train, 3, seed))
    return root


def create_synthetic_cityscapes(root: str, num_train: int = 8,
                                num_val: int = 4,
                                size: Tuple[int, int] = (128, 256),
                                seed: int = 0) -> str:
    """Writes a synthetic Cityscapes set in the MTAN layout.

    ``label_19`` holds train ids, ``label_7`` their 7 categories, -1 is
    ignore. ``depth`` is inverse depth in 1/m (about 0.02 to 0.5), as in
    the MTAN Cityscapes files, which store disparity-derived inverse depth
    rather than metres; the sky is 0 (invalid). Also writes
    ``onelabel.pth``.

    Args:
        root (str): output root.
        num_train (int): training images. Defaults to 8.
        num_val (int): validation images. Defaults to 4.
        size (tuple[int, int]): (H, W). Defaults to the real (128, 256).
        seed (int): random seed. Defaults to 0.

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    for split, count in (('train', num_train), ('val', num_val)):
        for index in range(count):
            sample = _street_scene(rng, *size)
            label_19 = sample.pop('label')
            label_7 = np.where(label_19 < 0, -1,
                               CS_19_TO_7[label_19.astype(np.int64)])
            sample.pop('normal')
            depth = sample['depth']
            inverse = np.where(depth > 0, 1 / np.maximum(depth, 1e-6), 0)
            _write(root, split, index,
                   dict(image=sample['image'], label_7=label_7.astype(
                       np.float32), label_19=label_19,
                        depth=inverse.astype(np.float32)))
    save_label_weights(osp.join(root, 'onelabel.pth'),
                       make_label_weights('onelabel', num_train, 2, seed))
    return root
