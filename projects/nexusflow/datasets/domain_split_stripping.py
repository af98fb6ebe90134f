"""Removing the GT of unlabeled tasks from an info, and stamping
``task_mask`` on the packed data samples.

Stripping happens on the infos themselves (not in the pipeline), so no later
component - a transform, CBGS's class counts, an evaluator - can read a
label the split says does not exist.
"""
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import torch

from mmdet3d.structures import BaseInstance3DBoxes
from .domain_split_rules import TaskMask

# Info keys that hold per-instance GT in mmdet3d 1.x infos.
ANN_KEYS = ('ann_info', 'eval_ann_info')
# Keys holding the same labels in another form: stripping a key strips its
# companions too, so a task that lists only the map masks (as older configs
# do) cannot leak the map thing instances.
COMPANION_KEYS = {
    'map_masks': ('map_instances', ),
    'gt_map': ('gt_map_instances', ),
}


def with_companions(keys: Sequence[str]) -> tuple:
    """The keys plus their :data:`COMPANION_KEYS`, in order, once each.

    Args:
        keys (Sequence[str]): a keys task's info keys.

    Returns:
        tuple[str]: every key to strip.
    """
    out = []
    for key in keys:
        for name in (key, ) + COMPANION_KEYS.get(key, ()):
            if name not in out:
                out.append(name)
    return tuple(out)


def strip_unlabeled(info: dict, mask: TaskMask, tasks: Mapping[str, dict],
                    classes: Sequence[str],
                    raw_classes: Sequence[str]) -> None:
    """Removes the GT of the unlabeled tasks of one info, in place.

    Key tasks lose their keys and the keys' :data:`COMPANION_KEYS` (also
    inside ``ann_info`` / ``eval_ann_info``); instance tasks lose their
    boxes in ``instances``, ``cam_instances`` and the parsed ``ann_info`` /
    ``eval_ann_info`` arrays.

    Args:
        info (dict): one info of the wrapped dataset.
        mask (dict[str, bool]): ``{task: labeled}`` of this sample.
        tasks (Mapping[str, dict]): normalized task definitions (see
            :func:`~.domain_split_rules.normalize_tasks`).
        classes (Sequence[str]): the dataset's classes, which the parsed
            ``gt_labels_3d`` index.
        raw_classes (Sequence[str]): the dataset class's ``METAINFO``
            classes, which the raw ``bbox_label_3d`` of the infos index.
    """
    drop, drop_all = set(), False
    for task, spec in tasks.items():
        if mask[task]:
            continue
        if spec['type'] == 'keys':
            for key in with_companions(spec['keys']):
                info.pop(key, None)
                for ann_key in ANN_KEYS:
                    if isinstance(info.get(ann_key), dict):
                        info[ann_key].pop(key, None)
        elif spec['classes'] is None:
            drop_all = True
        else:
            drop.update(spec['classes'])
    if not drop and not drop_all:
        return

    def keep_raw(instance: dict) -> bool:
        label = instance.get('bbox_label_3d', instance.get('bbox_label'))
        if drop_all or label is None or not \
                0 <= label < len(raw_classes):
            # Ignored boxes (label -1) stay unless everything goes.
            return not drop_all and label is not None and label < 0
        return raw_classes[label] not in drop

    if 'instances' in info:
        info['instances'] = [ins for ins in info['instances']
                             if keep_raw(ins)]
    if isinstance(info.get('cam_instances'), dict):
        info['cam_instances'] = {
            cam: [ins for ins in items if keep_raw(ins)]
            for cam, items in info['cam_instances'].items()
        }
    for ann_key in ANN_KEYS:
        ann = info.get(ann_key)
        if isinstance(ann, dict) and 'gt_labels_3d' in ann:
            labels = np.asarray(ann['gt_labels_3d'])
            keep = np.array([
                not drop_all and (label < 0 or classes[label] not in drop)
                for label in labels.tolist()
            ], dtype=bool).reshape(-1)
            info[ann_key] = select_rows(ann, keep, keep_raw)


def select_rows(ann: dict, keep: np.ndarray,
                keep_raw: Callable[[dict], bool]) -> dict:
    """Row-selects every per-instance array of an ``ann_info``.

    Values whose length equals ``len(keep)`` (boxes, arrays, tensors,
    lists) are treated as per-instance; anything else is copied as is.

    Args:
        ann (dict): a parsed ``ann_info``.
        keep (np.ndarray): ``(N,)`` bool, the instances to keep.
        keep_raw (Callable[[dict], bool]): the same decision for a raw
            instance dict (for a nested ``instances`` list).

    Returns:
        dict: a new ``ann_info``.
    """
    count = len(keep)
    out = {}
    for key, value in ann.items():
        if key == 'instances' and isinstance(value, list):
            out[key] = [ins for ins in value if keep_raw(ins)]
        elif isinstance(value, BaseInstance3DBoxes) and len(value) == count:
            out[key] = value[torch.from_numpy(keep)]
        elif isinstance(value, np.ndarray) and value.ndim and \
                len(value) == count:
            out[key] = value[keep]
        elif isinstance(value, torch.Tensor) and value.ndim and \
                len(value) == count:
            out[key] = value[torch.from_numpy(keep)]
        elif isinstance(value, list) and len(value) == count:
            out[key] = [v for v, k in zip(value, keep) if k]
        else:
            out[key] = value
    return out


def set_task_mask(data, mask: Optional[TaskMask],
                  by_token: Mapping[str, TaskMask],
                  by_index: Mapping[int, TaskMask]) -> None:
    """Writes ``task_mask`` into the metainfo of every data sample that
    does not carry one yet.

    Args:
        data: a pipeline output, ``dict(inputs=..., data_samples=...)``
            with one data sample or a list of them (a clip); anything else
            is left alone.
        mask (dict, optional): the mask to write; None looks each sample
            up by its ``token``, then its ``sample_idx``.
        by_token (Mapping): sample token -> mask.
        by_index (Mapping): ``sample_idx`` -> mask.

    Raises:
        KeyError: a sample that needs a lookup has neither key.
    """
    samples = data['data_samples'] if isinstance(data, dict) else None
    if samples is None:
        return
    for sample in samples if isinstance(samples, (list, tuple)) \
            else [samples]:
        if 'task_mask' in sample.metainfo:
            continue
        this = mask
        if this is None:
            this = by_token.get(sample.metainfo.get('token'),
                                by_index.get(sample.metainfo.get(
                                    'sample_idx')))
        if this is None:
            raise KeyError('NuScenesDomainSplitDataset: cannot tell which '
                           'sample a wrapped output belongs to (no token or '
                           'sample_idx in its metainfo); put this wrapper '
                           'inside CBGSDataset instead of outside it')
        sample.set_metainfo(dict(task_mask=dict(this)))
