"""BEV map ground truth rasterized from the nuScenes map expansion.

Four binary layers on a LiDAR-aligned canvas (default 200 x 200 at
0.512 m/px, i.e. 102.4 m around the LiDAR), in the order of
:data:`MAP_CLASSES`:

* ``divider``: road dividers and lane dividers, as lines;
* ``ped_crossing``: the outlines of pedestrian crossings, as lines;
* ``contour``: the boundary of the union of road segments and lanes (the
  road edge), as lines;
* ``drivable``: the drivable area, filled, from ``NuScenesMap.get_map_mask``.

Lines are drawn ``line_width`` (2) pixels thick, as in UniAD's map GT.
Pixel ``(row i, col j)`` is centred at LiDAR ``(x, y) = (j * res - W * res / 2,
i * res - H * res / 2)``: columns follow LiDAR x, rows follow LiDAR y (row 0
at the most negative y), which is the devkit's ``get_map_mask`` layout for a
patch rotated to the LiDAR heading.
"""
import math
import zlib
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from ..structures.nuscenes_meta import MAP_CLASSES


def pack_masks(masks: np.ndarray) -> dict:
    """Compresses binary masks for storage in an info file.

    Args:
        masks (np.ndarray): ``(C, H, W)`` array, non-zero = on.

    Returns:
        dict: ``shape`` and ``data`` (zlib-compressed ``np.packbits``).
    """
    bits = np.packbits(np.asarray(masks) > 0)
    return dict(shape=tuple(int(v) for v in masks.shape),
                data=zlib.compress(bits.tobytes(), 6))


def unpack_masks(packed: dict) -> np.ndarray:
    """Inverse of :func:`pack_masks`.

    Args:
        packed (dict): output of :func:`pack_masks`.

    Returns:
        np.ndarray: ``uint8`` masks of the stored shape, values 0/1.
    """
    shape = tuple(packed['shape'])
    bits = np.frombuffer(zlib.decompress(packed['data']), np.uint8)
    return np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape)


class MapRasterizer:
    """Rasterizes map layers around a LiDAR pose, one location at a time.

    Geometries of each location are read once with ``NuScenesMap`` and
    indexed with a shapely STRtree, so a sample costs a few small queries.

    Args:
        dataroot (str): nuScenes root holding ``maps/expansion``.
        canvas_size (tuple[int, int]): ``(H, W)`` in pixels.
        resolution (float): metres per pixel.
        line_width (int): thickness of line layers in pixels.
    """

    def __init__(self, dataroot: str,
                 canvas_size: Tuple[int, int] = (200, 200),
                 resolution: float = 0.512, line_width: int = 2) -> None:
        self.dataroot = dataroot
        self.canvas_size = tuple(int(v) for v in canvas_size)
        self.resolution = float(resolution)
        self.line_width = int(line_width)
        self._maps: Dict[str, object] = {}
        self._index: Dict[str, dict] = {}

    def _load(self, location: str) -> dict:
        """Reads one location's geometries into STRtrees."""
        if location in self._index:
            return self._index[location]
        from nuscenes.map_expansion.map_api import NuScenesMap
        from shapely.strtree import STRtree

        nmap = NuScenesMap(dataroot=self.dataroot, map_name=location)
        lines = [nmap.extract_line(r['line_token'])
                 for layer in ('road_divider', 'lane_divider')
                 for r in getattr(nmap, layer)]
        lines = [g for g in lines if not g.is_empty]
        crossings = [nmap.extract_polygon(r['polygon_token'])
                     for r in nmap.ped_crossing]
        roads = [nmap.extract_polygon(r['polygon_token'])
                 for layer in ('road_segment', 'lane')
                 for r in getattr(nmap, layer)]
        roads = [g if g.is_valid else g.buffer(0) for g in roads]
        index = {}
        for name, geoms in (('divider', lines), ('ped_crossing', crossings),
                            ('contour', roads)):
            index[name] = (STRtree(geoms), geoms)
        self._maps[location] = nmap
        self._index[location] = index
        return index

    def _patch(self, lidar2global: np.ndarray) -> Tuple[object, float,
                                                        np.ndarray]:
        """The canvas footprint in the global frame, its yaw (radians) and
        the global-to-pixel affine parameters for shapely."""
        from shapely.geometry import Polygon
        height, width = self.canvas_size
        half_w = width * self.resolution / 2
        half_h = height * self.resolution / 2
        rot = lidar2global[:2, :2]
        yaw = math.atan2(rot[1, 0], rot[0, 0])
        c, s = math.cos(yaw), math.sin(yaw)
        centre = lidar2global[:2, 3]
        corners = np.array([[-half_w, -half_h], [half_w, -half_h],
                            [half_w, half_h], [-half_w, half_h]])
        world = corners @ np.array([[c, s], [-s, c]]) + centre
        # pixel = R(-yaw) (p - centre) / res + (W/2, H/2)
        inv = 1.0 / self.resolution
        a, b, d, e = c * inv, s * inv, -s * inv, c * inv
        xoff = -(a * centre[0] + b * centre[1]) + width / 2
        yoff = -(d * centre[0] + e * centre[1]) + height / 2
        return Polygon(world), yaw, np.array([a, b, d, e, xoff, yoff])

    def _draw_lines(self, mask: np.ndarray, geometry,
                    affine: np.ndarray) -> None:
        """Draws the line parts of a (clipped) geometry; points from
        clipping at the canvas edge are skipped."""
        import shapely
        from shapely import affinity
        if geometry.is_empty:
            return
        geometry = affinity.affine_transform(geometry, affine)
        stack = list(shapely.get_parts(geometry))
        while stack:
            part = stack.pop()
            if part.geom_type in ('LineString', 'LinearRing'):
                coords = np.asarray(part.coords)[:, :2]
                cv2.polylines(mask, [coords.round().astype(np.int32)],
                              False, 1, self.line_width)
            elif part.geom_type in ('MultiLineString', 'GeometryCollection'):
                stack.extend(shapely.get_parts(part))

    def rasterize(self, location: str,
                  lidar2global: np.ndarray) -> np.ndarray:
        """Map GT around one LiDAR pose.

        Args:
            location (str): ``log.location`` of the sample.
            lidar2global (np.ndarray): 4x4 LiDAR-to-global transform.

        Returns:
            np.ndarray: ``(4, H, W)`` uint8 masks (0/1) in the order of
            :data:`MAP_CLASSES`.
        """
        from shapely.ops import unary_union
        index = self._load(location)
        patch, yaw, affine = self._patch(np.asarray(lidar2global))
        height, width = self.canvas_size
        masks = np.zeros((len(MAP_CLASSES), height, width), np.uint8)

        def hits(name: str) -> List:
            tree, geoms = index[name]
            return [geoms[i] for i in tree.query(patch,
                                                 predicate='intersects')]

        for geom in hits('divider'):
            self._draw_lines(masks[0], geom.intersection(patch), affine)
        for geom in hits('ped_crossing'):
            self._draw_lines(masks[1],
                             geom.exterior.intersection(patch), affine)
        roads = hits('contour')
        if roads:
            edge = unary_union(roads).boundary
            self._draw_lines(masks[2], edge.intersection(patch), affine)

        centre = lidar2global[:2, 3]
        patch_box = (float(centre[0]), float(centre[1]),
                     height * self.resolution, width * self.resolution)
        drivable = self._maps[location].get_map_mask(
            patch_box, math.degrees(yaw), ['drivable_area'],
            canvas_size=(height, width))
        masks[3] = drivable[0] > 0
        return masks

    def world_to_pixel(self, lidar2global: np.ndarray,
                       points: Sequence[Sequence[float]]) -> np.ndarray:
        """Global ``(x, y)`` points to canvas ``(col, row)`` coordinates.

        Args:
            lidar2global (np.ndarray): 4x4 LiDAR-to-global transform.
            points (Sequence): ``(N, 2)`` global positions.

        Returns:
            np.ndarray: ``(N, 2)`` float pixel coordinates.
        """
        _, _, (a, b, d, e, xoff, yoff) = self._patch(
            np.asarray(lidar2global))
        pts = np.asarray(points, dtype=np.float64)
        return np.stack([a * pts[:, 0] + b * pts[:, 1] + xoff,
                         d * pts[:, 0] + e * pts[:, 1] + yoff], axis=1)
