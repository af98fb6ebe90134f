"""Per-task-mask loss of an unchanged detector, shared by
:class:`NexusFlowWrapper` and the drop-in ``NexusFlowHook``.

A detector reduces its losses over the batch, so samples with different
supervision masks cannot share one ``loss`` call: the batch is grouped by
mask, the detector's loss runs once per group with the taps active, the
losses of the group's unlabeled tasks are multiplied by 0.0, and the groups
are combined weighted by their size.
"""
import contextlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..core.surrogate_bank import Feature, SurrogateBank
from .class_masks import ClassLossMask
from .feature_taps import FeatureTaps
from .task_mask import (get_task_masks, group_by_task_mask, match_loss_keys,
                        zero_unlabeled_losses)

GroupFeatures = List[Dict[str, Feature]]


def take_samples(value, indices: List[int], batch_size: int, name: str):
    """Selects the samples ``indices`` of one preprocessed input.

    Args:
        value: a tensor (batch first), a list/tuple with one entry per
            sample, mmdet3d's voxel dict, or a dict of those; anything else
            is returned unchanged.
        indices (list[int]): the samples to keep.
        batch_size (int): the batch size ``value`` belongs to.
        name (str): the input's name, for error messages.

    Returns:
        The same structure holding only the selected samples.
    """
    if isinstance(value, Tensor):
        if value.dim() == 0 or value.shape[0] != batch_size:
            raise ValueError(f'NexusFlow cannot split {name} of shape '
                             f'{tuple(value.shape)} by sample: its first '
                             f'dimension is not the batch size {batch_size}')
        return value[torch.as_tensor(indices, device=value.device)]
    if isinstance(value, (list, tuple)):
        if len(value) != batch_size:
            raise ValueError(f'NexusFlow cannot split {name} (a '
                             f'{type(value).__name__} of {len(value)}) by '
                             f'sample: expected one entry per sample '
                             f'({batch_size})')
        return type(value)(value[i] for i in indices)
    if isinstance(value, dict):
        if isinstance(value.get('coors'), Tensor):
            return _take_voxels(value, indices, batch_size, name)
        return {
            key: take_samples(item, indices, batch_size, f'{name}[{key!r}]')
            for key, item in value.items()
        }
    return value


def _take_voxels(voxels: Dict[str, Tensor], indices: List[int],
                 batch_size: int, name: str) -> Dict[str, Tensor]:
    """Splits mmdet3d's voxel dict, whose ``coors[:, 0]`` is the sample."""
    coors = voxels['coors']
    remap = coors.new_full((batch_size, ), -1)
    remap[torch.as_tensor(indices, device=coors.device)] = torch.arange(
        len(indices), device=coors.device, dtype=coors.dtype)
    keep = remap[coors[:, 0].long()] >= 0
    taken = {}
    for key, item in voxels.items():
        if not isinstance(item, Tensor):
            taken[key] = item
        elif item.dim() > 0 and item.shape[0] == coors.shape[0]:
            taken[key] = item[keep]
        else:
            raise ValueError(f'NexusFlow cannot split {name}[{key!r}] '
                             f'of shape {tuple(item.shape)}: voxel entries '
                             f'must have one row per coors row '
                             f'({coors.shape[0]})')
    coors = taken['coors'].clone()
    coors[:, 0] = remap[coors[:, 0].long()]
    taken['coors'] = coors
    return taken


def _add_scaled(total: dict, losses: dict, weight: float) -> None:
    """``total[k] += weight * losses[k]`` for tensors and lists of them."""
    for key, value in losses.items():
        if isinstance(value, Tensor):
            scaled = value * weight
        elif isinstance(value, (list, tuple)):
            scaled = [v * weight for v in value]
        else:
            continue
        if key not in total:
            total[key] = scaled
        elif isinstance(scaled, list):
            total[key] = [a + b for a, b in zip(total[key], scaled)]
        else:
            total[key] = total[key] + scaled


def check_task_names(owner: str, taps: dict, surrogates: dict,
                     task_losses: Optional[dict] = None,
                     task_classes: Optional[dict] = None) -> None:
    """Raises unless taps, surrogates and the task definitions name the
    same tasks; a task is masked by loss keys or by classes, not both.

    Args:
        owner (str): who asks, for the message.
        taps, surrogates (dict): ``{task: ...}``.
        task_losses (dict, optional): ``{task: loss key patterns}``.
        task_classes (dict, optional): ``{task: class names}``.
    """
    both = sorted(set(task_losses or {}) & set(task_classes or {}))
    if both:
        raise ValueError(f'{owner}: tasks {both} are in both task_losses '
                         f'and task_classes; give each task one of them')
    names = dict(taps=set(taps), surrogates=set(surrogates))
    if task_losses is not None or task_classes is not None:
        names['task_losses + task_classes'] = set(task_losses or {}) | set(
            task_classes or {})
    if len({frozenset(v) for v in names.values()}) != 1:
        listed = ', '.join(f'{k}={sorted(v)}' for k, v in names.items())
        raise ValueError(f'{owner}: task names must match between taps, '
                         f'surrogates and task_losses / task_classes; got '
                         f'{listed}')


def mask_losses(losses: dict, mask: Dict[str, bool],
                task_losses: Optional[Dict[str, Sequence[str]]],
                owner: str, class_tasks: Sequence[str] = ()) -> dict:
    """Zeroes the losses of the unlabeled tasks of one group.

    Args:
        losses (dict): the detector's loss dict for the group.
        mask (dict[str, bool]): the group's ``{task: labeled}``.
        task_losses (dict, optional): ``{task: [loss key pattern, ...]}``;
            may be None only when every task outside ``class_tasks`` is
            labeled.
        owner (str): who asks, for error messages.
        class_tasks (Sequence[str]): tasks masked per class inside a shared
            head (:class:`ClassLossMask`), not by loss keys.

    Returns:
        dict: the losses with unlabeled tasks' keys multiplied by 0.0.
    """
    by_key = {t: labeled for t, labeled in mask.items()
              if t not in class_tasks}
    if task_losses is None:
        if not all(by_key.values()):
            unlabeled = [t for t, labeled in by_key.items() if not labeled]
            raise ValueError(f'{owner}: samples are unlabeled for '
                             f'{unlabeled} but neither task_losses nor '
                             f'task_classes tell which losses to mask')
        return losses
    if all(by_key.values()):
        match_loss_keys(list(losses), task_losses)  # validates
        return losses
    return zero_unlabeled_losses(losses, by_key, task_losses)


def grouped_task_losses(loss_fn: Callable[..., dict],
                        inputs,
                        data_samples: list,
                        taps: FeatureTaps,
                        tasks: Sequence[str],
                        task_losses: Optional[Dict[str, Sequence[str]]],
                        owner: str = 'NexusFlowWrapper',
                        class_mask: Optional[ClassLossMask] = None,
                        **kwargs) -> Tuple[Dict[str, Tensor], GroupFeatures]:
    """Runs the detector's loss once per task-mask group.

    Args:
        loss_fn (Callable): the detector's own ``loss(inputs, data_samples,
            **kwargs)``.
        inputs: preprocessed inputs of the whole batch.
        data_samples (list): data samples; ``metainfo['task_mask']`` says
            which tasks each sample is labeled for.
        taps (FeatureTaps): taps on the detector, activated around each
            call.
        tasks (Sequence[str]): the task names.
        task_losses (dict, optional): see :func:`mask_losses`.
        owner (str): who asks, for error messages.
        class_mask (ClassLossMask, optional): per-class classification
            weights for the tasks defined as class groups.
        **kwargs: passed on to ``loss_fn``.

    Returns:
        tuple[dict, list[dict]]: the combined losses (unlabeled tasks
        zeroed, groups weighted by size) and, per group in order, the
        tapped ``{task: feature}``.
    """
    batch_size = len(data_samples)
    groups = group_by_task_mask(get_task_masks(data_samples, tasks))
    total: Dict[str, Tensor] = {}
    group_feats: GroupFeatures = []
    for mask, indices in groups:
        if len(groups) == 1:
            group_inputs, group_samples = inputs, data_samples
        else:
            group_inputs = take_samples(inputs, indices, batch_size,
                                        'inputs')
            group_samples = [data_samples[i] for i in indices]
        masked = class_mask(mask) if class_mask else contextlib.nullcontext()
        with taps, masked:
            losses = loss_fn(group_inputs, group_samples, **kwargs)
        losses = mask_losses(losses, mask, task_losses, owner,
                             class_mask.task_classes if class_mask else ())
        group_feats.append(taps.collect(len(indices)))
        _add_scaled(total, losses, len(indices) / batch_size)
    clash = {'loss_align', *(f'dist_{t}' for t in tasks)} & set(total)
    if clash:
        raise ValueError(f'{owner}: the detector already returns the loss '
                         f'keys {sorted(clash)}')
    return total, group_feats


def align_groups(bank: SurrogateBank,
                 group_feats: GroupFeatures) -> Dict[str, Tensor]:
    """Encodes every group's tapped features and aligns all samples.

    Args:
        bank (SurrogateBank): the surrogates and the alignment loss.
        group_feats (list[dict]): per group, ``{task: feature}``.

    Returns:
        dict[str, Tensor]: ``loss_align`` (times lambda) and ``dist_<task>``.
    """
    latents: Dict[str, List[Tensor]] = {task: [] for task in bank.tasks}
    for feats in group_feats:
        for task, z in bank.encode(feats).items():
            latents[task].append(z)
    # Groups are concatenated in the same order for every task, so row k
    # of each task's latents belongs to the same sample.
    return bank.align(
        {task: torch.cat(parts) for task, parts in latents.items()})
