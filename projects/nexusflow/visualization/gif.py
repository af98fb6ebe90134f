"""Animated GIF of a scene's frames, written with Pillow."""
import os
import os.path as osp
from typing import Sequence

from PIL import Image


def write_gif(frames: Sequence[str], out: str, fps: float = 2.0,
              zoom: float = 0.5) -> str:
    """Writes the PNG frames of one scene as a looping GIF.

    Args:
        frames (Sequence[str]): PNG files in playing order.
        out (str): the ``.gif`` file.
        fps (float): frames per second (nuScenes key frames come at 2 Hz).
        zoom (float): size of the GIF relative to the PNGs (GIFs of full
            frames get large).

    Returns:
        str: ``out``.
    """
    if not frames:
        raise ValueError(f'write_gif: no frames for {out}')
    if fps <= 0 or zoom <= 0:
        raise ValueError(f'write_gif: fps and zoom must be > 0, got {fps} '
                         f'and {zoom}')
    images = []
    for path in frames:
        with Image.open(path) as image:
            image = image.convert('RGB')
            if zoom != 1:
                size = (max(1, round(image.width * zoom)),
                        max(1, round(image.height * zoom)))
                image = image.resize(size, Image.BILINEAR)
            # One adaptive palette per frame keeps the track colours right.
            images.append(image.quantize(colors=256))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    images[0].save(out, save_all=True, append_images=images[1:],
                   duration=int(round(1000 / fps)), loop=0, optimize=True)
    return out
