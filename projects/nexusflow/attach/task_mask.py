"""Per-sample supervision masks: reading them, grouping a batch by them, and
zeroing the losses of unlabeled tasks.

A sample carries ``data_sample.metainfo['task_mask'] = {task: bool}``; a
sample without one is fully labeled.
"""
import re
from typing import Dict, List, Sequence, Tuple

from torch import Tensor

TaskMask = Dict[str, bool]


def get_task_masks(data_samples: Sequence, tasks: Sequence[str]
                   ) -> List[TaskMask]:
    """Reads ``task_mask`` from each sample's metainfo.

    Args:
        data_samples (Sequence): data samples with a ``metainfo`` dict.
        tasks (Sequence[str]): the tasks the model knows; every present
            ``task_mask`` must cover them (extra entries are ignored).

    Returns:
        list[dict[str, bool]]: one ``{task: labeled}`` per sample, in the
        order of ``tasks``. A sample without ``task_mask`` is all True.
    """
    masks = []
    for index, sample in enumerate(data_samples):
        metainfo = getattr(sample, 'metainfo', None)
        if not isinstance(metainfo, dict):
            raise ValueError(f'data_samples[{index}] has no metainfo dict '
                             f'(got {type(sample).__name__}); task_mask is '
                             f'read from data_sample.metainfo["task_mask"]')
        mask = metainfo.get('task_mask')
        if mask is None:
            masks.append({task: True for task in tasks})
            continue
        if not isinstance(mask, dict) or any(t not in mask for t in tasks):
            raise ValueError(f'data_samples[{index}].metainfo["task_mask"] '
                             f'must be a dict with a bool for each of '
                             f'{list(tasks)}, got {mask!r}')
        masks.append({task: bool(mask[task]) for task in tasks})
    return masks


def group_by_task_mask(masks: Sequence[TaskMask]
                       ) -> List[Tuple[TaskMask, List[int]]]:
    """Groups sample indices by identical mask.

    Args:
        masks (Sequence[dict[str, bool]]): one mask per sample.

    Returns:
        list[tuple[dict[str, bool], list[int]]]: ``(mask, indices)`` per
        distinct mask, in order of first appearance; indices ascending.
    """
    groups: Dict[tuple, Tuple[TaskMask, List[int]]] = {}
    for index, mask in enumerate(masks):
        key = tuple(sorted(mask.items()))
        groups.setdefault(key, (dict(mask), []))[1].append(index)
    return list(groups.values())


def match_loss_keys(keys: Sequence[str],
                    task_losses: Dict[str, Sequence[str]]
                    ) -> Dict[str, List[str]]:
    """Assigns loss keys to tasks.

    Args:
        keys (Sequence[str]): the keys of a loss dict.
        task_losses (dict[str, Sequence[str]]): ``{task: [pattern, ...]}``;
            a pattern is a key prefix or a regular expression matched at the
            start of the key (a plain prefix is such a regex).

    Returns:
        dict[str, list[str]]: ``{task: keys}``. Keys of no task (shared
        losses) are in no list.
    """
    owned: Dict[str, List[str]] = {}
    owner: Dict[str, str] = {}
    for task, patterns in task_losses.items():
        if isinstance(patterns, str):
            patterns = [patterns]
        regexes = [re.compile(p) for p in patterns]
        owned[task] = [k for k in keys if any(r.match(k) for r in regexes)]
        if not owned[task]:
            raise ValueError(f'task_losses[{task!r}] = {list(patterns)} '
                             f'matches none of the loss keys {sorted(keys)}')
        for key in owned[task]:
            if key in owner:
                raise ValueError(f'loss key {key!r} is matched by the '
                                 f'task_losses of both {owner[key]!r} and '
                                 f'{task!r}')
            owner[key] = task
    return owned


def zero_unlabeled_losses(losses: Dict[str, object], task_mask: TaskMask,
                          task_losses: Dict[str, Sequence[str]]
                          ) -> Dict[str, object]:
    """Multiplies the losses of unlabeled tasks by 0.0.

    ``x * 0.0`` is an exact zero that keeps the loss's parameters in the
    graph (DDP needs them used); no key is dropped.

    Args:
        losses (dict): loss dict of a detector; values are tensors or lists
            of tensors.
        task_mask (dict[str, bool]): ``{task: labeled}``.
        task_losses (dict[str, Sequence[str]]): see :func:`match_loss_keys`.

    Returns:
        dict: a new loss dict with the same keys.
    """
    owned = match_loss_keys(list(losses), task_losses)
    zeroed = dict(losses)
    for task, keys in owned.items():
        if task_mask[task]:
            continue
        for key in keys:
            zeroed[key] = _scale(losses[key], 0.0)
    return zeroed


def _scale(value, factor: float):
    """Multiplies a tensor, or each tensor of a list/tuple, by ``factor``."""
    if isinstance(value, Tensor):
        return value * factor
    if isinstance(value, (list, tuple)):
        return type(value)(_scale(v, factor) for v in value)
    return value
