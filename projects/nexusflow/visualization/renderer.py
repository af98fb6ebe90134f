"""One picture per frame: a title, the two BEV panels, the six cameras.

Layout (top to bottom): a header with the scene, frame and city and a
colour legend; the ground-truth BEV panel (map GT, GT boxes in white) next
to the prediction panel (map probabilities, tracked boxes coloured by
``tracking_id`` with a trail of their past centres); the 2 x 3 camera grid
with the tracked boxes projected. The ego is at the centre of both BEV
panels, forward up.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .bev_panel import BEVCanvas, forward_axis, render_bev
from .camera_panel import render_cameras
from .frame import FrameData
from .palette import BACKGROUND, GT_BOX, MAP_COLORS, TEXT, track_color
from .text import draw_label, font
from .trails import TrackTrails, trail_items

HEADER = 38  # pixels: title line + legend line
GAP = 4  # pixels between panels


class TrackMapRenderer:
    """Renders the frames of scenes in order (trails need the order).

    Args:
        resolution (float): metres per map cell. Defaults to 0.512 (the
            track + map infos' canvas).
        scale (int): pixels per map cell side. Defaults to 2.
        trail_length (int): past centres drawn per track. Defaults to 5.
        score_thr (float): tracked boxes scoring lower are not drawn.
            Defaults to 0 (every box the tracker output).
        show_ids (bool): write each track's id next to its BEV box.
            Defaults to True.
        canvas_size (Sequence[int]): ``(H, W)`` map canvas when a frame has
            neither map GT nor a map prediction. Defaults to (200, 200).
    """

    def __init__(self,
                 resolution: float = 0.512,
                 scale: int = 2,
                 trail_length: int = 5,
                 score_thr: float = 0.0,
                 show_ids: bool = True,
                 canvas_size: Sequence[int] = (200, 200)) -> None:
        self.resolution = float(resolution)
        self.scale = int(scale)
        self.score_thr = float(score_thr)
        self.show_ids = show_ids
        self.canvas_size = tuple(int(v) for v in canvas_size)
        self.trails = TrackTrails(trail_length)
        self._scene: Optional[str] = None

    def canvas(self, frame: FrameData) -> BEVCanvas:
        """The BEV geometry of a frame (its map's size, its forward)."""
        size = self.canvas_size
        for masks in (frame.gt_map, frame.pred_map):
            if masks is not None:
                size = masks.shape[-2:]
                break
        if frame.gt_map is not None and frame.pred_map is not None and \
                frame.gt_map.shape[-2:] != frame.pred_map.shape[-2:]:
            raise ValueError(f'frame {frame.token}: map GT of shape '
                             f'{frame.gt_map.shape} and prediction of shape '
                             f'{frame.pred_map.shape} are on different '
                             f'canvases')
        return BEVCanvas(size, self.resolution, self.scale,
                         forward_axis(frame.lidar2ego))

    def layout(self, frame: FrameData
               ) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        """The picture's ``(width, height)`` and a camera tile's.

        Args:
            frame (FrameData): the frame (its map and image sizes).

        Returns:
            tuple: ``(width, height)`` of the picture, ``(width, height)`` of
            one camera tile.
        """
        panel_w, panel_h = self.canvas(frame).size
        width = 2 * panel_w + GAP
        tile_w = width // 3
        if frame.images:
            img_h, img_w = frame.images[0].shape[:2]
            tile_h = max(1, round(tile_w * img_h / img_w))
        else:
            tile_h = round(tile_w * 9 / 16)
        return (width, HEADER + panel_h + GAP + 2 * tile_h), (tile_w, tile_h)

    def render(self, frame: FrameData) -> Image.Image:
        """Draws one frame and remembers its tracks for the next trails.

        Args:
            frame (FrameData): the frame; frames of a scene must come in
                order (a new ``scene_name`` clears the trails).

        Returns:
            PIL.Image.Image: the RGB picture of :meth:`layout`'s size.
        """
        if frame.scene_name != self._scene:
            self.trails.reset()
            self._scene = frame.scene_name
        frame.keep_scores(self.score_thr)
        canvas = self.canvas(frame)
        (width, height), tile = self.layout(frame)
        panel_w, panel_h = canvas.size
        picture = Image.new('RGB', (width, height), BACKGROUND)

        gt_title = f'ground truth: {len(frame.gt_boxes)} boxes'
        if frame.gt_map is None:
            gt_title += ', no map labels'
        picture.paste(
            render_bev(canvas, frame.gt_map, frame.gt_boxes,
                       [GT_BOX] * len(frame.gt_boxes), title=gt_title),
            (0, HEADER))

        colors = [track_color(t) for t in frame.track_ids]
        past = self.trails.past(frame.track_ids, frame.lidar2global)
        # Each trail ends at the box's current centre.
        points = [np.concatenate([p, box[None, :2]])
                  for p, box in zip(past, frame.pred_boxes)]
        texts = [str(t) for t in frame.track_ids] if self.show_ids else None
        pred_title = f'prediction: {len(frame.pred_boxes)} tracks'
        if frame.pred_map is None:
            pred_title += ', no map prediction'
        picture.paste(
            render_bev(canvas, frame.pred_map, frame.pred_boxes, colors,
                       texts, trail_items(points, colors), pred_title),
            (panel_w + GAP, HEADER))
        self.trails.update(frame.track_ids, frame.pred_boxes[:, :3],
                           frame.lidar2global)

        picture.paste(
            render_cameras(frame.images, frame.lidar2img, frame.pred_boxes,
                           colors, tile, frame.img_paths),
            (0, HEADER + panel_h + GAP))
        self._header(ImageDraw.Draw(picture), frame)
        return picture

    def _header(self, draw: ImageDraw.ImageDraw, frame: FrameData) -> None:
        draw_label(draw, (6, 3), f'{frame.scene_name}  frame '
                   f'{frame.frame_idx}  {frame.location}', TEXT, size=14,
                   box=False)
        x = 6
        legend = [(name.replace('_', ' '), color)
                  for name, color in MAP_COLORS.items()]
        legend += [('GT box', GT_BOX), ('track (colour = id)',
                                        track_color(1))]
        for name, color in legend:
            draw.rectangle([x, 24, x + 9, 33], fill=color)
            draw_label(draw, (x + 13, 22), name, TEXT, size=11, box=False)
            x += 22 + int(draw.textlength(name, font=font(11)))
