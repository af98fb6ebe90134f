"""Partial-label settings of the dense benchmarks, in the MTPSL/JTR format.

A setting is a ``labels_weights`` matrix ``FloatTensor[N, T]`` saved with
``torch.save({'labels_weights': ...})``: row i belongs to sample i, columns
follow the task order (NYUv2: semantic, depth, normal; Cityscapes: semantic,
depth) and a nonzero entry marks a labeled task. The official files load
unchanged; :func:`make_label_weights` draws seeded files with the official
statistics for any dataset size.
"""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch

SETTINGS = ('full', 'onelabel', 'randomlabels')

# NYUv2 randomlabels: 405 of the 795 training images carry one label, the
# other 390 carry two.
RANDOMLABELS_ONE_FRACTION = 405 / 795


def load_label_weights(path: str, num_samples: Optional[int] = None,
                       num_tasks: Optional[int] = None) -> np.ndarray:
    """Reads a ``labels_weights`` file into a boolean label mask.

    Args:
        path (str): a ``.pth`` file holding ``{'labels_weights':
            Tensor[N, T]}``.
        num_samples (int, optional): expected N (the dataset length).
        num_tasks (int, optional): expected T (the number of tasks).

    Returns:
        np.ndarray: (N, T) bool, True where the task is labeled.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'labels_weights file not found: {path}')
    try:
        content = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # torch raises several unrelated types
        raise ValueError(f'{path}: cannot be read by torch.load as a '
                         f'{{"labels_weights": Tensor[N, T]}} file ({err})'
                         ) from None
    if not isinstance(content, dict) or 'labels_weights' not in content:
        keys = sorted(content) if isinstance(content, dict) else \
            type(content).__name__
        raise ValueError(f'{path}: expected a dict with key '
                         f'"labels_weights", got {keys}')
    weights = content['labels_weights']
    if not isinstance(weights, torch.Tensor) or weights.dim() != 2:
        raise ValueError(f'{path}: "labels_weights" must be a 2-D tensor '
                         f'[num_samples, num_tasks], got '
                         f'{getattr(weights, "shape", type(weights))}')
    weights = weights.double().numpy()
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError(f'{path}: "labels_weights" must be finite and '
                         f'>= 0 (nonzero marks a labeled task)')
    rows, cols = weights.shape
    if num_samples is not None and rows != num_samples:
        raise ValueError(f'{path}: "labels_weights" has {rows} rows but the '
                         f'dataset has {num_samples} samples (row i must '
                         f'belong to sample i)')
    if num_tasks is not None and cols != num_tasks:
        raise ValueError(f'{path}: "labels_weights" has {cols} columns but '
                         f'the dataset has {num_tasks} tasks')
    return weights > 0


def save_label_weights(path: str, mask: np.ndarray) -> None:
    """Writes a boolean label mask in the official format.

    Args:
        path (str): output ``.pth`` file.
        mask (np.ndarray): (N, T) bool.
    """
    weights = torch.from_numpy(np.asarray(mask, dtype=np.float32))
    torch.save({'labels_weights': weights}, path)


def make_label_weights(setting: str, num_samples: int, num_tasks: int,
                       seed: int = 0) -> np.ndarray:
    """Draws a seeded label mask with the official statistics.

    ``onelabel``: every image has exactly one labeled task, and the tasks
    are labeled equally often (first tasks get the remainder, e.g. 1488 /
    1487 on Cityscapes). ``randomlabels``: a share 405/795 of the images has
    one label and the rest two, the tasks chosen uniformly (needs >= 3
    tasks).

    Args:
        setting (str): one of :data:`SETTINGS`.
        num_samples (int): N.
        num_tasks (int): T.
        seed (int): random seed. Defaults to 0.

    Returns:
        np.ndarray: (N, T) bool.
    """
    if setting not in SETTINGS:
        raise ValueError(f'label setting must be one of {SETTINGS}, got '
                         f'{setting!r}')
    if num_samples < 1 or num_tasks < 1:
        raise ValueError(f'need num_samples >= 1 and num_tasks >= 1, got '
                         f'{num_samples} and {num_tasks}')
    mask = np.zeros((num_samples, num_tasks), dtype=bool)
    if setting == 'full':
        mask[:] = True
        return mask
    rng = np.random.default_rng(seed)
    if setting == 'onelabel':
        tasks = np.arange(num_samples) % num_tasks
        mask[np.arange(num_samples), rng.permutation(tasks)] = True
        return mask
    if num_tasks < 3:
        raise ValueError(f'randomlabels needs at least 3 tasks (one or two '
                         f'labels out of more), got {num_tasks}')
    num_one = int(round(num_samples * RANDOMLABELS_ONE_FRACTION))
    counts = np.full(num_samples, 2)
    counts[:num_one] = 1
    for index, count in enumerate(rng.permutation(counts)):
        mask[index, rng.choice(num_tasks, size=count, replace=False)] = True
    return mask


def partial_fraction(mask: np.ndarray, fraction: float,
                     seed: int = 0) -> np.ndarray:
    """Keeps each task's labels on a seeded share of its labeled samples.

    Args:
        mask (np.ndarray): (N, T) bool label mask.
        fraction (float): share in (0, 1] kept per task.
        seed (int): random seed. Defaults to 0.

    Returns:
        np.ndarray: (N, T) bool, a subset of ``mask``.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f'label_fraction must be in (0, 1], got {fraction}')
    rng = np.random.default_rng(seed)
    out = np.zeros_like(mask)
    for task in range(mask.shape[1]):
        labeled = np.flatnonzero(mask[:, task])
        keep = int(round(len(labeled) * fraction))
        out[rng.choice(labeled, size=keep, replace=False), task] = True
    return out


def resolve_label_mask(setting: str, num_samples: int,
                       tasks: Sequence[str],
                       labels_weights: Optional[str] = None,
                       label_fraction: float = 1.0,
                       seed: int = 0) -> np.ndarray:
    """The label mask a dataset uses.

    Args:
        setting (str): one of :data:`SETTINGS`; ignored for the draw when
            ``labels_weights`` is given.
        num_samples (int): dataset length.
        tasks (Sequence[str]): task names, in file column order.
        labels_weights (str, optional): an official / shipped ``.pth``.
        label_fraction (float): per-task share of the labels kept on top of
            the setting. Defaults to 1.0.
        seed (int): seed of the draws. Defaults to 0.

    Returns:
        np.ndarray: (N, T) bool.
    """
    if labels_weights is not None:
        mask = load_label_weights(labels_weights, num_samples, len(tasks))
    else:
        mask = make_label_weights(setting, num_samples, len(tasks), seed)
    if label_fraction != 1.0:
        mask = partial_fraction(mask, label_fraction, seed)
    return mask
