"""Rendered frames on disk: a PNG per frame, a GIF per scene."""
import os
import os.path as osp
from typing import Dict, List, Optional

from .frame import FrameData
from .gif import write_gif
from .renderer import TrackMapRenderer


class SceneWriter:
    """Renders frames into ``<out_dir>/<scene>/<frame_idx>.png`` and, when a
    scene ends, ``<out_dir>/<scene>.gif``.

    Args:
        out_dir (str): the output folder.
        renderer (TrackMapRenderer, optional): defaults to a
            :class:`TrackMapRenderer` with its defaults.
        gif (bool): write a GIF per scene. Defaults to True.
        fps (float): GIF frames per second. Defaults to 2.
        gif_zoom (float): GIF size relative to the PNGs. Defaults to 0.5.
    """

    def __init__(self,
                 out_dir: str,
                 renderer: Optional[TrackMapRenderer] = None,
                 gif: bool = True,
                 fps: float = 2.0,
                 gif_zoom: float = 0.5) -> None:
        self.out_dir = out_dir
        self.renderer = renderer or TrackMapRenderer()
        self.gif, self.fps, self.gif_zoom = gif, fps, gif_zoom
        self.frames: Dict[str, List[str]] = {}
        self.gifs: List[str] = []
        self._open: Optional[str] = None

    def add(self, frame: FrameData) -> str:
        """Renders and saves one frame (frames of a scene in order).

        Args:
            frame (FrameData): the frame.

        Returns:
            str: the PNG path.
        """
        if frame.scene_name != self._open:
            self._finish()
            self._open = frame.scene_name
        folder = osp.join(self.out_dir, _safe(frame.scene_name))
        os.makedirs(folder, exist_ok=True)
        path = osp.join(folder, f'{frame.frame_idx:03d}.png')
        self.renderer.render(frame).save(path)
        self.frames.setdefault(frame.scene_name, []).append(path)
        return path

    def _finish(self) -> None:
        scene, self._open = self._open, None
        if scene is None or not self.gif:
            return
        out = osp.join(self.out_dir, f'{_safe(scene)}.gif')
        self.gifs.append(write_gif(self.frames[scene], out, self.fps,
                                   self.gif_zoom))

    def close(self) -> List[str]:
        """Writes the last scene's GIF.

        Returns:
            list[str]: every GIF written so far.
        """
        self._finish()
        return list(self.gifs)


def _safe(name: str) -> str:
    """A scene name usable as a file name."""
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in name)
