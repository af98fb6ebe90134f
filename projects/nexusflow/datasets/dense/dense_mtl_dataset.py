"""Base dataset of the MTAN-style ``.npy`` dense multi-task benchmarks."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from .label_weights import SETTINGS, resolve_label_mask
from .transforms import LoadDenseMTLSample, PackDenseMTLInputs


class DenseMTLDataset(BaseDataset):
    """Samples ``root/{split}/{folder}/{i}.npy`` with per-task label masks.

    Subclasses name the tasks and their folders in ``TASK_FOLDERS``. A task
    that a sample has no label for is left out of its info entirely (its
    path never reaches the loader), and ``task_mask`` records which tasks
    are labeled.

    Args:
        data_root (str): dataset root holding ``train/`` and ``val/``.
        split (str): ``'train'`` or ``'val'``. Defaults to ``'train'``.
        tasks (Sequence[str], optional): subset of the tasks, in order;
            defaults to all. ``labels_weights`` columns always follow the
            full task order.
        label_setting (str): ``'full'``, ``'onelabel'`` or
            ``'randomlabels'``. Defaults to ``'full'``.
        labels_weights (str, optional): an official / shipped
            ``{'labels_weights': Tensor[N, T]}`` file; when None a non-full
            setting is drawn with the official statistics and ``seed``.
        label_fraction (float): per-task share of labels kept on top of the
            setting. Defaults to 1.0.
        seed (int): seed of the drawn settings. Defaults to 0.
        pipeline (list[dict], optional): transforms; defaults to
            ``LoadDenseMTLSample`` + ``PackDenseMTLInputs``.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`.
    """

    TASK_FOLDERS: Dict[str, str] = {}
    IMAGE_FOLDER = 'image'
    METAINFO: dict = {}

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 tasks: Optional[Sequence[str]] = None,
                 label_setting: str = 'full',
                 labels_weights: Optional[str] = None,
                 label_fraction: float = 1.0,
                 seed: int = 0,
                 pipeline: Optional[List[dict]] = None,
                 **kwargs) -> None:
        name = type(self).__name__
        all_tasks = list(self.TASK_FOLDERS)
        self.tasks = all_tasks if tasks is None else list(tasks)
        unknown = [t for t in self.tasks if t not in self.TASK_FOLDERS]
        if unknown or not self.tasks:
            raise ValueError(f'{name}: tasks must be a non-empty subset of '
                             f'{all_tasks}, got {list(self.tasks)}')
        if label_setting not in SETTINGS:
            raise ValueError(f'{name}: label_setting must be one of '
                             f'{SETTINGS}, got {label_setting!r}')
        if split not in ('train', 'val'):
            raise ValueError(f'{name}: split must be "train" or "val", got '
                             f'{split!r}')
        self.split = split
        self.label_setting = label_setting
        self.labels_weights = labels_weights
        self.label_fraction = label_fraction
        self.seed = seed
        if pipeline is None:
            # Instances, not configs: they build without a default scope.
            pipeline = [LoadDenseMTLSample(), PackDenseMTLInputs()]
        super().__init__(data_root=data_root, pipeline=pipeline, **kwargs)

    def _count_samples(self, folder: str) -> int:
        """Number of ``{i}.npy`` files, checked to be 0..N-1."""
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{type(self).__name__}: folder not '
                                    f'found: {folder}')
        names = [n for n in os.listdir(folder) if n.endswith('.npy')]
        try:
            indices = sorted(int(n[:-4]) for n in names)
        except ValueError:
            bad = [n for n in names if not n[:-4].isdigit()]
            raise ValueError(f'{type(self).__name__}: {folder} must hold '
                             f'files named {{i}}.npy, found {bad[:3]}'
                             ) from None
        if not indices or indices != list(range(len(indices))):
            raise ValueError(f'{type(self).__name__}: {folder} must hold '
                             f'0.npy .. (N-1).npy without gaps, found '
                             f'{len(indices)} files')
        return len(indices)

    def load_data_list(self) -> List[dict]:
        """Builds one info per sample; unlabeled tasks get no path.

        Returns:
            list[dict]: infos with ``img_path``, ``<task>_path`` for the
            labeled tasks, ``task_mask`` and ``sample_idx``.
        """
        root = osp.join(self.data_root, self.split)
        num = self._count_samples(osp.join(root, self.IMAGE_FOLDER))
        for task in self.tasks:
            found = self._count_samples(
                osp.join(root, self.TASK_FOLDERS[task]))
            if found != num:
                raise ValueError(f'{type(self).__name__}: {root} has {num} '
                                 f'images but {found} '
                                 f'{self.TASK_FOLDERS[task]} files')
        all_tasks = list(self.TASK_FOLDERS)
        mask = resolve_label_mask(self.label_setting, num, all_tasks,
                                  self.labels_weights, self.label_fraction,
                                  self.seed)
        infos = []
        for index in range(num):
            labeled = dict(zip(all_tasks, mask[index].tolist()))
            info = dict(
                sample_idx=index,
                img_path=osp.join(root, self.IMAGE_FOLDER, f'{index}.npy'),
                task_mask={task: labeled[task] for task in self.tasks})
            for task in self.tasks:
                if labeled[task]:
                    info[f'{task}_path'] = osp.join(
                        root, self.TASK_FOLDERS[task], f'{index}.npy')
            infos.append(info)
        return infos

    @property
    def label_mask(self) -> np.ndarray:
        """(N, len(tasks)) bool: which sample is labeled for which task."""
        return np.array([[info['task_mask'][t] for t in self.tasks]
                         for info in (self.get_data_info(i)
                                      for i in range(len(self)))],
                        dtype=bool)
