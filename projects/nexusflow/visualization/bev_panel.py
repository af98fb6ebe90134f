"""The bird's-eye-view panel: map layers, boxes, track trails, the ego.

The panel shows the map canvas of the track + map samples (``(K, H, W)``
around the LiDAR, ``resolution`` metres per cell; see
``nexusflow.converters.map_raster``: column = LiDAR x, row = LiDAR y) turned
so that the ego's forward direction points up and its left to the left,
each cell drawn as ``scale`` x ``scale`` pixels. Boxes and trails go
through :meth:`BEVCanvas.world_to_pixel`, the same index transform as the
map, so a box sits on the map cells under it.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ..structures.nuscenes_meta import MAP_CLASSES
from .palette import BACKGROUND, EGO, MAP_COLORS, RGB, TEXT
from .text import draw_label

AXES = ('+x', '-x', '+y', '-y')


def forward_axis(lidar2ego: Optional[np.ndarray]) -> str:
    """The LiDAR axis closest to the ego's forward direction.

    Args:
        lidar2ego (np.ndarray, optional): 4x4 LiDAR-to-ego transform; None
            means the LiDAR looks forward along +x.

    Returns:
        str: one of ``'+x'``, ``'-x'``, ``'+y'``, ``'-y'`` (``'+y'`` for the
        nuScenes LIDAR_TOP).
    """
    if lidar2ego is None:
        return '+x'
    rot = np.asarray(lidar2ego, dtype=np.float64)[:3, :3]
    forward = rot.T @ np.array([1.0, 0.0, 0.0])  # ego +x in the LiDAR
    axis = int(np.argmax(np.abs(forward[:2])))
    return ('+' if forward[axis] >= 0 else '-') + 'xy'[axis]


class BEVCanvas:
    """Map cells and LiDAR points to panel pixels, ego forward up.

    Args:
        canvas_size (Sequence[int]): ``(H, W)`` of the map canvas in cells.
        resolution (float): metres per cell. Defaults to 0.512.
        scale (int): pixels per cell side. Defaults to 2.
        forward (str): the LiDAR axis pointing forward (see
            :func:`forward_axis`). Defaults to ``'+x'``.
    """

    def __init__(self,
                 canvas_size: Sequence[int],
                 resolution: float = 0.512,
                 scale: int = 2,
                 forward: str = '+x') -> None:
        if forward not in AXES:
            raise ValueError(f'BEVCanvas: forward must be one of {AXES}, '
                             f'got {forward!r}')
        if int(scale) < 1 or resolution <= 0:
            raise ValueError(f'BEVCanvas: scale must be >= 1 and resolution '
                             f'> 0, got {scale} and {resolution}')
        self.height, self.width = (int(v) for v in canvas_size)
        self.resolution = float(resolution)
        self.scale = int(scale)
        self.forward = forward

    @property
    def cells(self) -> Tuple[int, int]:
        """``(rows, cols)`` of the turned canvas, in cells."""
        if self.forward[1] == 'x':  # rows follow x: the canvas is transposed
            return self.width, self.height
        return self.height, self.width

    @property
    def size(self) -> Tuple[int, int]:
        """``(width, height)`` of the panel in pixels (PIL's order)."""
        rows, cols = self.cells
        return cols * self.scale, rows * self.scale

    def _turn(self, i, j):
        """Canvas indices (row i ~ y, col j ~ x) to turned ``(row, col)``:
        rows run backwards (forward is up), cols to the right (left is
        left)."""
        h, w = self.height - 1, self.width - 1
        return {
            '+x': (w - j, h - i),  # left = +y
            '-x': (j, i),  # left = -y
            '+y': (h - i, j),  # left = -x
            '-y': (i, w - j),  # left = +x
        }[self.forward]

    def turn(self, masks: np.ndarray) -> np.ndarray:
        """Turns ``(..., H, W)`` canvas arrays to the panel's orientation,
        one value per cell (not scaled).

        Args:
            masks (np.ndarray): ``(..., H, W)``.

        Returns:
            np.ndarray: ``(..., rows, cols)`` (see :attr:`cells`).
        """
        masks = np.asarray(masks)
        if masks.shape[-2:] != (self.height, self.width):
            raise ValueError(f'BEVCanvas: map of shape {masks.shape} on a '
                             f'{self.height}x{self.width} canvas')
        rows, cols = np.indices(self.cells)
        # Every turn is its own inverse on indices of the other axis order,
        # so gathering with the inverse map is exact (no resampling).
        if self.forward == '+x':
            i, j = self.height - 1 - cols, self.width - 1 - rows
        elif self.forward == '-x':
            i, j = cols, rows
        elif self.forward == '+y':
            i, j = self.height - 1 - rows, cols
        else:
            i, j = rows, self.width - 1 - cols
        return masks[..., i, j]

    def world_to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """LiDAR ``(x, y)`` points to panel pixel coordinates.

        Args:
            xy (np.ndarray): ``(N, 2)`` metres in the LiDAR frame.

        Returns:
            np.ndarray: ``(N, 2)`` float ``(col, row)`` pixel coordinates;
            the cell a point falls in is ``floor`` of them divided by
            ``scale``.
        """
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        # Canvas convention of the rasterizer: integer index = cell centre.
        j = xy[:, 0] / self.resolution + self.width / 2
        i = xy[:, 1] / self.resolution + self.height / 2
        row, col = self._turn(i, j)
        return np.stack([(col + 0.5) * self.scale, (row + 0.5) * self.scale],
                        axis=1)

    @property
    def ego_pixel(self) -> np.ndarray:
        """``(col, row)`` of the LiDAR origin."""
        return self.world_to_pixel(np.zeros((1, 2)))[0]


def box_corners_bev(boxes: np.ndarray) -> np.ndarray:
    """BEV corners of LiDAR boxes.

    Args:
        boxes (np.ndarray): ``(N, >= 7)`` ``x, y, z, l, w, h, yaw, ...``
            (mmdet3d LiDAR boxes; yaw about +z, 0 along +x, length along
            the heading).

    Returns:
        np.ndarray: ``(N, 4, 2)`` front-left, front-right, back-right,
        back-left.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4, 2))
    half_l, half_w = boxes[:, 3:4] / 2, boxes[:, 4:5] / 2
    local = np.stack([
        np.concatenate([half_l, half_w], 1),
        np.concatenate([half_l, -half_w], 1),
        np.concatenate([-half_l, -half_w], 1),
        np.concatenate([-half_l, half_w], 1)
    ], axis=1)  # (N, 4, 2)
    cos, sin = np.cos(boxes[:, 6]), np.sin(boxes[:, 6])
    rot = np.stack([np.stack([cos, -sin], 1), np.stack([sin, cos], 1)], 1)
    return np.einsum('nij,nkj->nki', rot, local) + boxes[:, None, :2]


def map_layer(canvas: BEVCanvas, masks: Optional[np.ndarray]) -> np.ndarray:
    """The map drawn on the background: each class blended in with its
    value as opacity (probabilities shade, binary GT is solid).

    Args:
        canvas (BEVCanvas): the geometry.
        masks (np.ndarray, optional): ``(K, H, W)`` in the order of
            ``MAP_CLASSES`` (K <= 4), probabilities in [0, 1] or 0/1.

    Returns:
        np.ndarray: ``(rows * scale, cols * scale, 3)`` uint8.
    """
    rows, cols = canvas.cells
    image = np.empty((rows, cols, 3), np.float32)
    image[:] = BACKGROUND
    if masks is not None:
        masks = np.asarray(masks, dtype=np.float32)
        if masks.ndim != 3 or masks.shape[0] > len(MAP_CLASSES):
            raise ValueError(f'map masks must be (K <= {len(MAP_CLASSES)}, '
                             f'H, W) in the order {MAP_CLASSES}, got shape '
                             f'{masks.shape}')
        turned = np.clip(canvas.turn(masks), 0.0, 1.0)
        for name, color in MAP_COLORS.items():
            k = MAP_CLASSES.index(name)
            if k < len(turned):
                alpha = turned[k][..., None]
                image = image * (1 - alpha) + np.asarray(color) * alpha
    image = np.round(image).astype(np.uint8)
    return np.repeat(np.repeat(image, canvas.scale, 0), canvas.scale, 1)


def draw_boxes(draw: ImageDraw.ImageDraw, canvas: BEVCanvas,
               boxes: np.ndarray, colors: Sequence[RGB],
               texts: Optional[Sequence[str]] = None,
               width: int = 2) -> None:
    """Oriented box outlines with a heading line from the centre to the
    front edge.

    Args:
        draw (ImageDraw.ImageDraw): the panel's drawing context.
        canvas (BEVCanvas): the geometry.
        boxes (np.ndarray): ``(N, >= 7)`` LiDAR boxes.
        colors (Sequence[RGB]): one colour per box.
        texts (Sequence[str], optional): a label next to each box.
        width (int): line width in pixels.
    """
    if len(boxes) == 0:
        return
    corners = box_corners_bev(boxes)
    pixels = canvas.world_to_pixel(corners.reshape(-1, 2)).reshape(-1, 4, 2)
    centres = canvas.world_to_pixel(np.asarray(boxes)[:, :2])
    for n, (quad, centre, color) in enumerate(zip(pixels, centres, colors)):
        points = [tuple(p) for p in quad]
        draw.line(points + [points[0]], fill=color, width=width)
        front = tuple((quad[0] + quad[1]) / 2)
        draw.line([tuple(centre), front], fill=color, width=width)
        if texts is not None:
            draw_label(draw, (quad[:, 0].max() + 2, quad[:, 1].min() - 2),
                       texts[n], color)


def draw_trails(draw: ImageDraw.ImageDraw, canvas: BEVCanvas,
                trails: Sequence[Tuple[np.ndarray, RGB]]) -> None:
    """Past centres of tracks as a line with a dot per frame.

    Args:
        draw (ImageDraw.ImageDraw): the panel's drawing context.
        canvas (BEVCanvas): the geometry.
        trails (Sequence[tuple[np.ndarray, RGB]]): ``(M, 2)`` LiDAR
            positions, oldest first, and the track's colour.
    """
    for points, color in trails:
        if len(points) == 0:
            continue
        pixels = [tuple(p) for p in canvas.world_to_pixel(points)]
        if len(pixels) > 1:
            draw.line(pixels, fill=color, width=1)
        for col, row in pixels:
            draw.ellipse([col - 1.5, row - 1.5, col + 1.5, row + 1.5],
                         fill=color)


def draw_ego(draw: ImageDraw.ImageDraw, canvas: BEVCanvas) -> None:
    """A small triangle at the LiDAR origin pointing forward (up)."""
    col, row = canvas.ego_pixel
    size = 3 * canvas.scale
    draw.polygon([(col, row - size), (col - size * 0.6, row + size * 0.6),
                  (col + size * 0.6, row + size * 0.6)], fill=EGO)


def render_bev(canvas: BEVCanvas,
               masks: Optional[np.ndarray],
               boxes: np.ndarray,
               colors: Sequence[RGB],
               texts: Optional[Sequence[str]] = None,
               trails: Sequence[Tuple[np.ndarray, RGB]] = (),
               title: str = '') -> Image.Image:
    """One BEV panel: map, trails, boxes, ego and a title in the corner.

    Args:
        canvas (BEVCanvas): the geometry.
        masks (np.ndarray, optional): ``(K, H, W)`` map layers (None: no
            map, e.g. an unlabeled map task).
        boxes (np.ndarray): ``(N, >= 7)`` LiDAR boxes.
        colors (Sequence[RGB]): one colour per box.
        texts (Sequence[str], optional): a label per box.
        trails (Sequence[tuple[np.ndarray, RGB]]): see :func:`draw_trails`.
        title (str): drawn in the top-left corner.

    Returns:
        PIL.Image.Image: RGB of :attr:`BEVCanvas.size`.
    """
    image = Image.fromarray(map_layer(canvas, masks))
    draw = ImageDraw.Draw(image)
    draw_trails(draw, canvas, trails)
    draw_boxes(draw, canvas, boxes, colors, texts)
    draw_ego(draw, canvas)
    if title:
        draw_label(draw, (4, 3), title, TEXT)
    return image


def boxes_array(boxes) -> np.ndarray:
    """``(N, >= 7)`` float array of mmdet3d boxes, a tensor or an array."""
    boxes = getattr(boxes, 'tensor', boxes)
    if hasattr(boxes, 'detach'):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 9))
    if boxes.ndim != 2 or boxes.shape[1] < 7:
        raise ValueError(f'boxes must be (N, >= 7) x, y, z, l, w, h, yaw, '
                         f'..., got shape {boxes.shape}')
    return boxes


def as_list(values) -> List:
    """A tensor / array / sequence as a plain list."""
    if values is None:
        return []
    if hasattr(values, 'detach'):
        values = values.detach().cpu().numpy()
    return np.asarray(values).tolist()
