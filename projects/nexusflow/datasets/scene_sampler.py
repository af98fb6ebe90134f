"""Test-time sampler that gives each process whole scenes, in order."""
from typing import Iterator, List, Optional, Sized

from mmengine.dist import get_dist_info

from mmdet3d.registry import DATA_SAMPLERS


def scene_runs(dataset: Sized) -> List[List[int]]:
    """Consecutive dataset indices grouped by ``scene_token``.

    Args:
        dataset: a dataset whose ``get_data_info(i)`` has ``scene_token``.

    Returns:
        list[list[int]]: one index list per run of one scene, in dataset
        order.
    """
    runs: List[List[int]] = []
    last = object()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        if 'scene_token' not in info:
            raise ValueError(
                f'SceneContiguousSampler: sample {index} of '
                f'{type(dataset).__name__} has no "scene_token"; it needs a '
                f'sequence dataset such as NuScenesTrackMapDataset')
        scene = info['scene_token']
        if scene != last:
            runs.append([])
            last = scene
        runs[-1].append(index)
    return runs


@DATA_SAMPLERS.register_module()
class SceneContiguousSampler:
    """Splits a sequence dataset into contiguous blocks of whole scenes, one
    block per process, with near-equal frame counts.

    Tracking and the temporal BEV need every frame of a scene, in order, in
    the same process; mmengine's ``DefaultSampler`` deals indices out
    round-robin instead, so each process would see every ``world_size``-th
    frame. Blocks are not padded: mmengine's CPU result collection accepts
    parts of different lengths, and no frame is evaluated twice.

    Args:
        dataset: the dataset; ``get_data_info(i)['scene_token']`` is read.
        seed (int, optional): unused; for config compatibility with
            ``DefaultSampler``.
        shuffle (bool): must be False (kept for config compatibility).
    """

    def __init__(self, dataset: Sized, seed: Optional[int] = None,
                 shuffle: bool = False) -> None:
        if shuffle:
            raise ValueError('SceneContiguousSampler: shuffle=True would '
                             'break the frame order it exists for; use '
                             'DefaultSampler for training')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        runs = scene_runs(dataset)
        total = sum(len(run) for run in runs)
        self.indices: List[int] = []
        done = 0
        for run in runs:
            # A scene goes to the process whose share holds its middle.
            middle = done + len(run) / 2
            owner = min(int(middle * self.world_size / max(total, 1)),
                        self.world_size - 1)
            if owner == self.rank:
                self.indices.extend(run)
            done += len(run)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        """No-op: the order is fixed."""
