"""BEV map ground truth from the nuScenes map expansion, as UniAD builds it.

Each key frame gets UniAD's map targets on an ``(H, W)`` canvas (default
200 x 200 at 0.512 m/px, 102.4 m square):

* **thing instances**, labels 0 ``divider``, 1 ``ped_crossing``, 2
  ``contour``: polylines drawn ``line_width`` (2) px thick, one instance per
  polyline;
* four **semantic layers** ``(4, H, W)`` in the order of
  :data:`MAP_CLASSES` (what ``BEVMapIoUMetric`` scores): the union of each
  thing class's instance masks, and ``drivable`` (the stuff class).

The rules follow UniAD's dataset code (its vector map, rasterization and
``get_data_info``):

1. Thing elements are cut from a patch centred on the **ego** pose of the
   LiDAR key frame and turned to the ego yaw; ``drivable`` is the devkit's
   ``get_map_mask`` around the **LiDAR** pose (about 0.94 m ahead on
   nuScenes, 1.8 px).
2. ``divider``: road and lane dividers clipped to the patch. ``ped_crossing``:
   the two longest edges of each crossing polygon, each its own instance
   (not the outline). ``contour``: the outer and inner rings of the union of
   road segments and lanes (each clipped to the patch first; invalid
   polygons skipped, as the devkit does), clipped to a box ``contour_margin``
   (0.2 m) inside the patch so that the patch border is no road edge.
3. Every element is resampled every ``sample_dist`` (1 m) from its start; the
   rest after the last whole step is dropped, and an element with fewer than
   two samples is dropped.
4. Samples become pixels by truncation, not rounding:
   ``u = int((x + X / 2) / res)``, ``v = int((y + Y / 2) / res)`` with
   ``(x, y)`` in the ego frame (x forward, y left) and ``X = H * res``,
   ``Y = W * res`` the patch extents.
5. Overlap filter: each class is also drawn ``line_width + 4`` px wide, and
   inside that band of a class the classes below it are erased
   (contour > ped_crossing > divider). Within a class a later polyline
   overwrites an earlier one, so instance masks never overlap; an instance
   left with no pixel is dropped.

Pixel layout, all layers: rows follow the forward direction and columns the
right-hand direction (the nuScenes LIDAR_TOP's y and x). Thing pixel
``(row i, col j)`` holds ego ``x`` in ``[i, i + 1) * res - X / 2`` and ego
``-y`` in ``(j, j + 1] * res - Y / 2``: polylines are drawn with ``(u, v)``
as ``(col, row)`` and the canvas is then turned a quarter clockwise, as UniAD
does. Drivable pixel ``(i, j)`` is centred at LiDAR ``(x, y) = (j * res -
Y / 2, i * res - X / 2)`` (the devkit's ``get_map_mask`` for a patch turned
to the LiDAR heading).

An instance box is UniAD's: ``(x1, y1, x2, y2)`` = (min col, min row, max
col, max row) of its mask, inclusive. Unlike UniAD, instance indices are not
kept in a uint8 canvas, so a sample with more than 254 thing instances does
not merge the later ones.
"""
import math
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..structures.nuscenes_meta import MAP_CLASSES

# Labels of the thing classes (the first three map classes).
THING_CLASSES = MAP_CLASSES[:3]
DIVIDER, PED_CROSSING, CONTOUR = range(3)
# The overlap filter's band is this much wider than the drawn lines.
FILTER_EXTRA_WIDTH = 4


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


class MapPolylines:
    """Thing instances of one sample as pixel polylines, in drawing order.

    Args:
        labels (Sequence[int]): ``(N,)`` thing labels (0, 1, 2), ascending.
        polylines (Sequence[np.ndarray]): N int ``(K, 2)`` arrays of
            ``(u, v)`` pixels (see the module docstring), ``K >= 2``.
        canvas_size (tuple[int, int]): ``(H, W)`` of the final canvas.
        line_width (int): drawn thickness in pixels.
    """

    def __init__(self, labels: Sequence[int],
                 polylines: Sequence[np.ndarray],
                 canvas_size: Tuple[int, int], line_width: int) -> None:
        self.labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        self.polylines = [np.asarray(p, dtype=np.int32).reshape(-1, 2)
                          for p in polylines]
        self.canvas_size = (int(canvas_size[0]), int(canvas_size[1]))
        self.line_width = int(line_width)
        if len(self.labels) != len(self.polylines):
            raise ValueError(f'MapPolylines: {len(self.labels)} labels for '
                             f'{len(self.polylines)} polylines')
        if np.any(np.diff(self.labels) < 0) or (
                len(self.labels) and not 0 <= self.labels.min() <=
                self.labels.max() < len(THING_CLASSES)):
            raise ValueError(f'MapPolylines: labels must be sorted thing '
                             f'labels in [0, {len(THING_CLASSES)}), got '
                             f'{self.labels.tolist()}')
        if any(len(p) < 2 for p in self.polylines):
            raise ValueError('MapPolylines: every polyline needs at least '
                             'two points')

    def __len__(self) -> int:
        return len(self.labels)

    def pack(self) -> dict:
        """The compact info-file form (a few kB per sample).

        Returns:
            dict: ``canvas_size``, ``line_width``, ``labels`` (int8),
            ``lengths`` (int32 points per polyline) and ``points`` (zlib of
            the int16 ``(u, v)`` points of all polylines, concatenated).
        """
        points = np.concatenate(self.polylines) if self.polylines else \
            np.zeros((0, 2), np.int32)
        if points.size and (points.min() < np.iinfo(np.int16).min or
                            points.max() > np.iinfo(np.int16).max):
            raise ValueError('MapPolylines: pixel coordinates exceed int16')
        return dict(
            canvas_size=self.canvas_size, line_width=self.line_width,
            labels=self.labels.astype(np.int8),
            lengths=np.array([len(p) for p in self.polylines], np.int32),
            points=zlib.compress(points.astype('<i2').tobytes(), 6))

    @classmethod
    def unpack(cls, packed: dict) -> 'MapPolylines':
        """Inverse of :meth:`pack`.

        Args:
            packed (dict): output of :meth:`pack`.

        Returns:
            MapPolylines: the polylines.
        """
        lengths = np.asarray(packed['lengths'], dtype=np.int64)
        points = np.frombuffer(zlib.decompress(packed['points']),
                               '<i2').reshape(-1, 2).astype(np.int32)
        if len(points) != lengths.sum():
            raise ValueError(f'map_instances: {len(points)} points stored '
                             f'but the lengths add up to {lengths.sum()}')
        parts = np.split(points, np.cumsum(lengths)[:-1]) if len(lengths) \
            else []
        return cls(packed['labels'], parts, packed['canvas_size'],
                   packed['line_width'])

    def index_canvases(self) -> np.ndarray:
        """Draws the polylines as UniAD does (see the module docstring).

        Returns:
            np.ndarray: ``(3, H, W)`` int32; pixel value ``n + 1`` where
            polyline ``n`` survives in its class's layer, 0 elsewhere.
        """
        height, width = self.canvas_size
        # Drawn with rows along v (ego y) and columns along u (ego x), then
        # turned: the thick-line rasterization is not symmetric, so drawing
        # in the final orientation would move edge pixels.
        index = np.zeros((len(THING_CLASSES), width, height), np.int32)
        band = np.zeros((len(THING_CLASSES), width, height), np.uint8)
        for n, (label, line) in enumerate(zip(self.labels, self.polylines)):
            cv2.polylines(index[label], [line], False, n + 1,
                          self.line_width)
            cv2.polylines(band[label], [line], False, 1,
                          self.line_width + FILTER_EXTRA_WIDTH)
        for label in range(len(THING_CLASSES) - 1, 0, -1):
            index[:label, band[label] > 0] = 0
        return np.ascontiguousarray(np.rot90(index, k=-1, axes=(1, 2)))

    def semantic(self) -> np.ndarray:
        """The three thing layers.

        Returns:
            np.ndarray: ``(3, H, W)`` uint8 0/1.
        """
        return (self.index_canvases() > 0).astype(np.uint8)

    def instances(self) -> dict:
        """UniAD's thing targets: one mask and box per surviving polyline.

        Returns:
            dict: ``labels`` ``(N,)`` int64, ``masks`` ``(N, H, W)`` uint8
            and ``bboxes`` ``(N, 4)`` float32 ``(x1, y1, x2, y2)`` pixels
            (min/max column and row of the mask, inclusive).
        """
        index = self.index_canvases()
        height, width = self.canvas_size
        num = len(self.labels)
        masks = np.zeros((num, height, width), np.uint8)
        boxes = np.tile(np.array([width, height, -1, -1], np.int64),
                        (num, 1))
        # Every drawn pixel names its polyline: scatter them in one pass
        # per class instead of comparing the canvas once per instance.
        for canvas in index:
            rows, cols = np.nonzero(canvas)
            ids = canvas[rows, cols] - 1
            masks[ids, rows, cols] = 1
            np.minimum.at(boxes[:, 0], ids, cols)
            np.minimum.at(boxes[:, 1], ids, rows)
            np.maximum.at(boxes[:, 2], ids, cols)
            np.maximum.at(boxes[:, 3], ids, rows)
        keep = boxes[:, 2] >= 0
        if not keep.all():  # erased by the overlap filter
            masks = masks[keep]
        return dict(labels=self.labels[keep], masks=masks,
                    bboxes=boxes[keep].astype(np.float32))


def resample_line(coords: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` metres along a line from its start.

    Args:
        coords (np.ndarray): ``(K, 2)`` vertices.
        step (float): spacing.

    Returns:
        np.ndarray: ``(M, 2)`` points at distances ``0, step, ...`` below the
        line's length (the end is not added).
    """
    import shapely
    from shapely.geometry import LineString
    line = LineString(coords)
    distances = np.arange(0, line.length, step)
    points = shapely.line_interpolate_point(line, distances)
    return shapely.get_coordinates(points).reshape(-1, 2)


def _line_parts(geometry) -> List:
    """The LineStrings of a geometry (points of degenerate clips dropped)."""
    import shapely
    if geometry is None or geometry.is_empty:
        return []
    if geometry.geom_type == 'LineString':
        return [geometry]
    if geometry.geom_type in ('MultiLineString', 'GeometryCollection'):
        return [p for part in shapely.get_parts(geometry)
                for p in _line_parts(part)]
    return []


class MapRasterizer:
    """Builds the map GT of key frames, one location's map at a time.

    Geometries of each location are read once with ``NuScenesMap`` and
    indexed with shapely STRtrees (queried records are visited in record
    order, as the devkit's full scans do), so a sample costs a few small
    queries.

    Args:
        dataroot (str): nuScenes root holding ``maps/expansion``.
        canvas_size (tuple[int, int]): ``(H, W)`` in pixels.
        resolution (float): metres per pixel.
        line_width (int): thickness of the thing polylines in pixels
            (UniAD: 2 at 200 x 200).
        sample_dist (float): resampling step of the thing elements in
            metres.
        contour_margin (float): how far inside the patch the contour rings
            are clipped, in metres.
    """

    def __init__(self, dataroot: str,
                 canvas_size: Tuple[int, int] = (200, 200),
                 resolution: float = 0.512, line_width: int = 2,
                 sample_dist: float = 1.0,
                 contour_margin: float = 0.2) -> None:
        self.dataroot = dataroot
        self.canvas_size = tuple(int(v) for v in canvas_size)
        self.resolution = float(resolution)
        self.line_width = int(line_width)
        self.sample_dist = float(sample_dist)
        self.contour_margin = float(contour_margin)
        self._maps: Dict[str, object] = {}
        self._index: Dict[str, dict] = {}

    @property
    def patch_extent(self) -> Tuple[float, float]:
        """``(X, Y)``: metres along ego x (canvas rows) and ego y
        (columns)."""
        height, width = self.canvas_size
        return height * self.resolution, width * self.resolution

    def describe(self) -> dict:
        """The GT definition, for an info file's metainfo."""
        return dict(definition='uniad', line_width=self.line_width,
                    filter_width=self.line_width + FILTER_EXTRA_WIDTH,
                    sample_dist=self.sample_dist,
                    contour_margin=self.contour_margin,
                    things_centre='ego', drivable_centre='lidar',
                    thing_classes=THING_CLASSES)

    # ----------------------------------------------------------- reading
    def _load(self, location: str) -> dict:
        """Reads one location's geometries into STRtrees."""
        if location in self._index:
            return self._index[location]
        from nuscenes.map_expansion.map_api import NuScenesMap
        from shapely.strtree import STRtree

        nmap = NuScenesMap(dataroot=self.dataroot, map_name=location)
        index = {}
        for name in ('road_divider', 'lane_divider'):
            lines = [nmap.extract_line(r['line_token'])
                     for r in getattr(nmap, name)]
            index[name] = [g for g in lines if not g.is_empty]
        index['ped_crossing'] = [nmap.extract_polygon(r['polygon_token'])
                                 for r in nmap.ped_crossing]
        for name in ('road_segment', 'lane'):
            polygons = [nmap.extract_polygon(r['polygon_token'])
                        for r in getattr(nmap, name)]
            index[name] = [g for g in polygons if g.is_valid]
        self._index[location] = {
            name: (STRtree(geoms), geoms) for name, geoms in index.items()}
        self._maps[location] = nmap
        return self._index[location]

    @staticmethod
    def _hits(index: dict, name: str, patch) -> List:
        """Geometries of a layer meeting the patch, in record order."""
        tree, geoms = index[name]
        return [geoms[i] for i in
                sorted(tree.query(patch, predicate='intersects'))]

    # ----------------------------------------------------------- vectors
    def vectorize(self, location: str,
                  ego2global: np.ndarray) -> List[Tuple[int, np.ndarray]]:
        """UniAD's thing elements around one ego pose, resampled.

        Args:
            location (str): ``log.location`` of the sample.
            ego2global (np.ndarray): 4x4 ego-to-global transform.

        Returns:
            list[tuple[int, np.ndarray]]: ``(label, (M, 2) points)`` in the
            ego frame (metres, x forward, y left), ``M >= 2``, ordered by
            label, then as UniAD orders them (road dividers, lane dividers;
            crossings with the second-longest edge first; outer rings, then
            inner rings).
        """
        from shapely import affinity
        from shapely.geometry import LineString, MultiPolygon, box
        from shapely.ops import linemerge, unary_union

        index = self._load(location)
        ego2global = np.asarray(ego2global, dtype=np.float64)
        cx, cy = (float(v) for v in ego2global[:2, 3])
        # Degrees as UniAD computes them (yaw / pi * 180): math.degrees
        # rounds differently, which moves clipped ends by an ulp and can
        # change the sample count of a line of whole-metre length.
        angle = float(np.arctan2(ego2global[1, 0], ego2global[0, 0]) /
                      np.pi * 180)
        ext_x, ext_y = self.patch_extent
        patch = affinity.rotate(
            box(cx - ext_x / 2, cy - ext_y / 2, cx + ext_x / 2,
                cy + ext_y / 2), angle, origin=(cx, cy), use_radians=False)

        def local(geometry):
            geometry = affinity.rotate(geometry, -angle, origin=(cx, cy),
                                       use_radians=False)
            return affinity.affine_transform(geometry,
                                             [1, 0, 0, 1, -cx, -cy])

        elements: List[Tuple[int, object]] = []
        for name in ('road_divider', 'lane_divider'):
            for line in self._hits(index, name, patch):
                elements += [(DIVIDER, part) for part in
                             _line_parts(local(line.intersection(patch)))]
        for polygon in self._hits(index, 'ped_crossing', patch):
            ring = np.asarray(polygon.exterior.coords)[:, :2]
            lengths = np.square(np.diff(ring, axis=0)).sum(1)
            for edge in np.argsort(lengths)[-2:]:
                piece = LineString(ring[edge:edge + 2]).intersection(patch)
                elements += [(PED_CROSSING, part)
                             for part in _line_parts(local(piece))]
        unions = []
        for name in ('road_segment', 'lane'):
            clipped = [local(g.intersection(patch))
                       for g in self._hits(index, name, patch)]
            unions.append(unary_union([g for g in clipped
                                       if not g.is_empty]))
        roads = unary_union(unions)
        if roads.geom_type == 'Polygon':
            roads = MultiPolygon([roads])
        polygons = [g for g in getattr(roads, 'geoms', [])
                    if g.geom_type == 'Polygon']
        margin = self.contour_margin
        inner = box(-ext_x / 2 + margin, -ext_y / 2 + margin,
                    ext_x / 2 - margin, ext_y / 2 - margin)
        # Outer rings clockwise, holes counter-clockwise, so every contour
        # runs with the road on the same side.
        rings = [p.exterior if not p.exterior.is_ccw
                 else LineString(list(p.exterior.coords)[::-1])
                 for p in polygons]
        rings += [r if r.is_ccw else LineString(list(r.coords)[::-1])
                  for p in polygons for r in p.interiors]
        for ring in rings:
            piece = LineString(ring.coords).intersection(inner)
            if piece.geom_type == 'MultiLineString':
                piece = linemerge(piece)
            elements += [(CONTOUR, part) for part in _line_parts(piece)]

        vectors = []
        for label, line in elements:
            points = resample_line(np.asarray(line.coords)[:, :2],
                                   self.sample_dist)
            if len(points) >= 2:
                vectors.append((label, points))
        return vectors

    def thing_polylines(self, location: str,
                        ego2global: np.ndarray) -> MapPolylines:
        """The thing instances of one sample as pixel polylines.

        Args:
            location (str): ``log.location`` of the sample.
            ego2global (np.ndarray): 4x4 ego-to-global transform.

        Returns:
            MapPolylines: truncated ``(u, v)`` pixels of every element part
            inside the patch, in drawing order.
        """
        from shapely.geometry import LineString, box
        ext_x, ext_y = self.patch_extent
        height, width = self.canvas_size
        scale = np.array([height / ext_x, width / ext_y])
        offset = np.array([ext_x / 2, ext_y / 2])
        patch = box(-ext_x / 2, -ext_y / 2, ext_x / 2, ext_y / 2)
        labels, polylines = [], []
        for label, points in self.vectorize(location, ego2global):
            for part in _line_parts(LineString(points).intersection(patch)):
                coords = np.asarray(part.coords)[:, :2]
                # UniAD casts to int: truncation (coordinates are >= 0).
                pixels = ((coords + offset) * scale).astype(np.int32)
                if len(pixels) >= 2:
                    labels.append(label)
                    polylines.append(pixels)
        return MapPolylines(labels, polylines, self.canvas_size,
                            self.line_width)

    # ----------------------------------------------------------- rasters
    def drivable(self, location: str, lidar2global: np.ndarray) -> np.ndarray:
        """The drivable layer around one LiDAR pose.

        Args:
            location (str): ``log.location`` of the sample.
            lidar2global (np.ndarray): 4x4 LiDAR-to-global transform.

        Returns:
            np.ndarray: ``(H, W)`` uint8 0/1.
        """
        self._load(location)
        lidar2global = np.asarray(lidar2global, dtype=np.float64)
        height, width = self.canvas_size
        yaw = math.atan2(lidar2global[1, 0], lidar2global[0, 0])
        patch_box = (float(lidar2global[0, 3]), float(lidar2global[1, 3]),
                     height * self.resolution, width * self.resolution)
        mask = self._maps[location].get_map_mask(
            patch_box, math.degrees(yaw), ['drivable_area'],
            canvas_size=(height, width))
        return (mask[0] > 0).astype(np.uint8)

    def rasterize(self, location: str, lidar2global: np.ndarray,
                  ego2global: np.ndarray,
                  polylines: Optional[MapPolylines] = None) -> np.ndarray:
        """The four semantic layers of one sample.

        Args:
            location (str): ``log.location`` of the sample.
            lidar2global (np.ndarray): 4x4 LiDAR-to-global transform (the
                drivable layer's centre).
            ego2global (np.ndarray): 4x4 ego-to-global transform of the
                LiDAR key frame (the thing layers' centre).
            polylines (MapPolylines, optional): the sample's
                :meth:`thing_polylines`, when already computed.

        Returns:
            np.ndarray: ``(4, H, W)`` uint8 masks (0/1) in the order of
            :data:`MAP_CLASSES`.
        """
        if polylines is None:
            polylines = self.thing_polylines(location, ego2global)
        masks = np.zeros((len(MAP_CLASSES), ) + self.canvas_size, np.uint8)
        masks[:len(THING_CLASSES)] = polylines.semantic()
        masks[len(THING_CLASSES)] = self.drivable(location, lidar2global)
        return masks

    def world_to_pixel(self, lidar2global: np.ndarray,
                       points: Sequence[Sequence[float]]) -> np.ndarray:
        """Global ``(x, y)`` points to drivable-layer ``(col, row)``.

        Args:
            lidar2global (np.ndarray): 4x4 LiDAR-to-global transform.
            points (Sequence): ``(N, 2)`` global positions.

        Returns:
            np.ndarray: ``(N, 2)`` float pixel coordinates (pixel centres
            at integers).
        """
        lidar2global = np.asarray(lidar2global, dtype=np.float64)
        height, width = self.canvas_size
        yaw = math.atan2(lidar2global[1, 0], lidar2global[0, 0])
        c, s = math.cos(yaw), math.sin(yaw)
        rel = np.asarray(points, dtype=np.float64) - lidar2global[:2, 3]
        local = rel @ np.array([[c, -s], [s, c]])
        return local / self.resolution + np.array([width / 2, height / 2])

    def ego_to_pixel(self, points: Sequence[Sequence[float]]) -> np.ndarray:
        """Ego-frame ``(x, y)`` points to thing-layer ``(col, row)`` pixels
        (the pixel a polyline vertex at that point is drawn on).

        Args:
            points (Sequence): ``(N, 2)`` ego-frame positions in metres.

        Returns:
            np.ndarray: ``(N, 2)`` int ``(col, row)``.
        """
        ext_x, ext_y = self.patch_extent
        height, width = self.canvas_size
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        u = ((pts[:, 0] + ext_x / 2) * (height / ext_x)).astype(np.int64)
        v = ((pts[:, 1] + ext_y / 2) * (width / ext_y)).astype(np.int64)
        return np.stack([width - 1 - v, u], axis=1)
