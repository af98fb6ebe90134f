"""Colours shared by the BEV and camera panels.

A track keeps its colour for its whole life because the colour is a pure
function of its ``tracking_id`` (hues spaced by the golden ratio, so
consecutive ids look different), not of its position in a frame's list.
"""
import colorsys
from typing import Dict, Tuple

RGB = Tuple[int, int, int]

BACKGROUND: RGB = (24, 24, 28)
GT_BOX: RGB = (255, 255, 255)
EGO: RGB = (255, 60, 60)
TEXT: RGB = (235, 235, 235)
# Drawn in this order, so the thin line classes stay on top of the filled
# drivable area.
MAP_COLORS: Dict[str, RGB] = {
    'drivable': (78, 84, 96),
    'contour': (214, 130, 52),
    'divider': (222, 205, 80),
    'ped_crossing': (80, 196, 120),
}

_GOLDEN = 0.618033988749895


def track_color(track_id: int) -> RGB:
    """The colour of a track, the same in every frame.

    Args:
        track_id (int): the tracker's ``tracking_id``.

    Returns:
        tuple[int, int, int]: saturated RGB, bright enough on the dark
        background and never grey (GT boxes are white).
    """
    hue = (int(track_id) * _GOLDEN) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(round(red * 255)), int(round(green * 255)), int(
        round(blue * 255))
