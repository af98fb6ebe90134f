"""Small text labels on the rendered panels (Pillow's built-in font, so no
font file or display is needed)."""
import functools
from typing import Tuple

from PIL import ImageDraw, ImageFont

from .palette import BACKGROUND, RGB


@functools.lru_cache(maxsize=4)
def font(size: int = 11) -> ImageFont.ImageFont:
    """Pillow's default font at ``size`` pixels (its bitmap font where
    Pillow was built without FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # without FreeType: fixed size only
        return ImageFont.load_default()


def draw_label(draw: ImageDraw.ImageDraw, xy: Tuple[float, float],
               text: str, color: RGB, size: int = 11,
               box: bool = True) -> None:
    """Text at ``xy`` (top-left), on a background-coloured box so it stays
    readable over the map and the images.

    Args:
        draw (ImageDraw.ImageDraw): the drawing context.
        xy (tuple[float, float]): top-left corner in pixels.
        text (str): the label.
        color (RGB): text colour.
        size (int): font size in pixels.
        box (bool): draw the background box.
    """
    face = font(size)
    if box:
        left, top, right, bottom = draw.textbbox(xy, text, font=face)
        draw.rectangle([left - 1, top - 1, right + 1, bottom + 1],
                       fill=BACKGROUND)
    draw.text(xy, text, fill=color, font=face)
