"""Short trails of past track centres.

Centres are kept in the global frame, since the ego moves between frames,
and moved into the current LiDAR frame when drawn.
"""
from collections import deque
from typing import Deque, Dict, List, Sequence, Tuple

import numpy as np


class TrackTrails:
    """The last ``length`` centres of every track of one scene.

    Args:
        length (int): past frames kept per track (0: no trails).
    """

    def __init__(self, length: int = 5) -> None:
        if length < 0:
            raise ValueError(f'TrackTrails: length must be >= 0, got '
                             f'{length}')
        self.length = int(length)
        self._past: Dict[int, Deque[np.ndarray]] = {}

    def reset(self) -> None:
        """Forgets every track (a new scene)."""
        self._past.clear()

    def past(self, track_ids: Sequence[int],
             lidar2global: np.ndarray) -> List[np.ndarray]:
        """Earlier centres of the given tracks in the current LiDAR frame.

        Args:
            track_ids (Sequence[int]): the tracks of this frame.
            lidar2global (np.ndarray): 4x4 pose of this frame.

        Returns:
            list[np.ndarray]: ``(M, 2)`` LiDAR ``(x, y)`` per track, oldest
            first (M = 0 for a new track).
        """
        global2lidar = np.linalg.inv(np.asarray(lidar2global, np.float64))
        out = []
        for track_id in track_ids:
            points = self._past.get(int(track_id))
            if not points:
                out.append(np.zeros((0, 2)))
                continue
            glob = np.concatenate(
                [np.stack(points), np.ones((len(points), 1))], 1)
            out.append((glob @ global2lidar.T)[:, :2])
        return out

    def update(self, track_ids: Sequence[int], centres: np.ndarray,
               lidar2global: np.ndarray) -> None:
        """Records this frame's centres (after drawing it).

        Args:
            track_ids (Sequence[int]): the tracks of this frame.
            centres (np.ndarray): ``(N, 3)`` LiDAR centres.
            lidar2global (np.ndarray): 4x4 pose of this frame.
        """
        if self.length == 0 or len(track_ids) == 0:
            return
        pose = np.asarray(lidar2global, np.float64)
        centres = np.asarray(centres, np.float64).reshape(-1, 3)
        glob = centres @ pose[:3, :3].T + pose[:3, 3]
        for track_id, point in zip(track_ids, glob):
            self._past.setdefault(int(track_id),
                                  deque(maxlen=self.length)).append(point)

    def __len__(self) -> int:
        return len(self._past)


def trail_items(points: Sequence[np.ndarray],
                colors: Sequence[Tuple[int, int, int]]) -> List:
    """Pairs each non-empty trail with its colour for the BEV panel."""
    return [(p, c) for p, c in zip(points, colors) if len(p)]
