"""Track birth and death at inference (UniAD's runtime tracker)."""
from typing import Tuple

import torch
from torch import Tensor


class RuntimeTracker:
    """Turns per-query scores into stable track ids within one scene.

    A query without an id (``-1``) whose score reaches ``score_thresh`` is
    born with the next free id. A tracked query whose score falls below
    ``filter_score_thresh`` misses the frame; after ``miss_tolerance``
    consecutive misses its id is released (the track dies); one good frame
    resets its misses. Ids are never reused within a scene; :meth:`reset`
    starts a new scene at id 0.

    Args:
        score_thresh (float): score to start a track. Defaults to 0.4.
        filter_score_thresh (float): score to keep a track alive (and to
            report it). Defaults to 0.35.
        miss_tolerance (int): consecutive misses before a track dies.
            Defaults to 5.
    """

    def __init__(self,
                 score_thresh: float = 0.4,
                 filter_score_thresh: float = 0.35,
                 miss_tolerance: int = 5) -> None:
        if not 0.0 <= filter_score_thresh <= score_thresh <= 1.0:
            raise ValueError(
                f'RuntimeTracker: need 0 <= filter_score_thresh '
                f'({filter_score_thresh}) <= score_thresh ({score_thresh}) '
                f'<= 1')
        if miss_tolerance < 1:
            raise ValueError(f'RuntimeTracker: miss_tolerance must be >= 1, '
                             f'got {miss_tolerance}')
        self.score_thresh = score_thresh
        self.filter_score_thresh = filter_score_thresh
        self.miss_tolerance = miss_tolerance
        self.next_id = 0

    def reset(self) -> None:
        """Starts a new scene: ids count from 0 again."""
        self.next_id = 0

    def update(self, scores: Tensor, track_ids: Tensor,
               misses: Tensor) -> Tuple[Tensor, Tensor]:
        """One frame of birth / miss / death bookkeeping.

        Args:
            scores (Tensor): ``(Q, )`` confidence of each query.
            track_ids (Tensor): ``(Q, )`` long, current id or ``-1``.
            misses (Tensor): ``(Q, )`` long, consecutive misses so far.

        Returns:
            tuple[Tensor, Tensor]: new ``track_ids`` and ``misses``.
        """
        if not scores.shape == track_ids.shape == misses.shape:
            raise ValueError(f'RuntimeTracker.update: scores, track_ids and '
                             f'misses must have the same (Q,) shape, got '
                             f'{tuple(scores.shape)}, '
                             f'{tuple(track_ids.shape)}, '
                             f'{tuple(misses.shape)}')
        ids, misses = track_ids.clone(), misses.clone()
        born = (ids < 0) & (scores >= self.score_thresh)
        num_born = int(born.sum())
        ids[born] = torch.arange(self.next_id, self.next_id + num_born,
                                 device=ids.device, dtype=ids.dtype)
        self.next_id += num_born
        misses[born] = 0
        alive = (ids >= 0) & ~born
        low = alive & (scores < self.filter_score_thresh)
        misses[alive & ~low] = 0
        misses[low] += 1
        ids[low & (misses >= self.miss_tolerance)] = -1
        return ids, misses
