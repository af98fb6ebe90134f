"""Which task is labeled on which sample: task definitions, location rules
and the per-sample masks they give (the domain-split wrapper's policy)."""
import fnmatch
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

# The NuScenesTrackMapDataset tasks: boxes with track ids, and map masks.
DEFAULT_TASKS = OrderedDict(
    track=dict(type='instances', classes=None),
    map=dict(type='keys', keys=('map_masks', 'gt_map')))

TaskMask = Dict[str, bool]


def normalize_tasks(tasks: Optional[Mapping[str, dict]],
                    classes: Sequence[str]) -> Dict[str, dict]:
    """Checks task definitions and fills their defaults.

    A task is ``dict(type='instances', classes=None | [names])`` (3D boxes
    of those classes, all when None) or ``dict(type='keys', keys=[...])``
    (info keys such as ``map_masks``). ``type`` may be left out when
    ``classes`` or ``keys`` is given.

    Args:
        tasks (Mapping, optional): task name -> definition; None gives
            :data:`DEFAULT_TASKS`.
        classes (Sequence[str]): class names of the wrapped dataset.

    Returns:
        dict: normalized definitions.
    """
    tasks = DEFAULT_TASKS if tasks is None else tasks
    if not tasks:
        raise ValueError('NuScenesDomainSplitDataset: tasks is empty')
    out = OrderedDict()
    for name, spec in tasks.items():
        spec = dict(spec or {})
        kind = spec.pop('type', 'keys' if 'keys' in spec else 'instances')
        if kind == 'instances':
            names = spec.pop('classes', None)
            unknown = sorted(set(names or []) - set(classes))
            if unknown:
                raise ValueError(
                    f'NuScenesDomainSplitDataset: task {name!r} names '
                    f'classes {unknown} that the dataset does not have; its '
                    f'classes are {list(classes)}')
            out[name] = dict(type=kind, classes=None if names is None else
                             tuple(names))
        elif kind == 'keys':
            out[name] = dict(type=kind, keys=tuple(spec.pop('keys', ())))
            if not out[name]['keys']:
                raise ValueError(f'NuScenesDomainSplitDataset: task {name!r}'
                                 f' of type keys needs keys=[...]')
        else:
            raise ValueError(f'NuScenesDomainSplitDataset: task {name!r} has '
                             f'type {kind!r}; expected instances or keys')
        if spec:
            raise ValueError(f'NuScenesDomainSplitDataset: task {name!r} has '
                             f'unknown fields {sorted(spec)}')
    return out


def check_rules(rules: Optional[Mapping[str, Optional[Sequence[str]]]],
                tasks: Sequence[str]) -> Dict[str, Optional[tuple]]:
    """Validates location rules against the tasks and known locations.

    Args:
        rules (Mapping, optional): task -> fnmatch globs over
            ``log.location`` where it is labeled (None: everywhere).
        tasks (Sequence[str]): the task names.

    Returns:
        dict: task -> tuple of globs or None, for every task.
    """
    from nuscenes.map_expansion.map_api import locations as known
    known = sorted(known)
    rules = dict(rules or {})
    unknown = sorted(set(rules) - set(tasks))
    if unknown:
        raise ValueError(f'NuScenesDomainSplitDataset: rules name tasks '
                         f'{unknown} that are not defined; tasks are '
                         f'{list(tasks)}')
    out = {}
    for task in tasks:
        patterns = rules.get(task)
        if patterns is not None:
            if isinstance(patterns, str):
                patterns = [patterns]
            for pattern in patterns:
                if not fnmatch.filter(known, pattern):
                    raise ValueError(
                        f'NuScenesDomainSplitDataset: rule {task}='
                        f'{list(patterns)} has {pattern!r}, which matches no '
                        f'nuScenes location; known locations are '
                        f'{known}')
            patterns = tuple(patterns)
        out[task] = patterns
    return out


def check_random_ratio(random_ratio: Optional[float],
                       rules: Optional[Mapping]) -> None:
    """Checks that the random mode is well-formed and excludes rules.

    Args:
        random_ratio (float, optional): labeled probability per task and
            sample, or None for the rules mode.
        rules (Mapping, optional): the location rules.

    Raises:
        ValueError: both modes given, or a ratio outside ``[0, 1]``.
    """
    if random_ratio is None:
        return
    if rules:
        raise ValueError('NuScenesDomainSplitDataset: give either rules or '
                         'random_ratio, not both')
    if not 0.0 <= float(random_ratio) <= 1.0:
        raise ValueError(f'NuScenesDomainSplitDataset: random_ratio must be '
                         f'in [0, 1], got {random_ratio}')


def task_masks(locations: Sequence[str],
               rules: Mapping[str, Optional[Sequence[str]]],
               tasks: Sequence[str],
               random_ratio: Optional[float] = None,
               seed: int = 0) -> List[TaskMask]:
    """``{task: labeled}`` per sample.

    Args:
        locations (Sequence[str]): ``log.location`` of each sample.
        rules (Mapping): from :func:`check_rules` (every task present).
        tasks (Sequence[str]): task names, in the order the random mode
            draws them.
        random_ratio (float, optional): when given, each task of each
            sample is labeled with this probability and ``rules`` and
            ``locations`` (beyond their count) are ignored.
        seed (int): seed of the random mode; the same seed and sample count
            give the same draw.

    Returns:
        list[dict[str, bool]]: one mask per sample.
    """
    if random_ratio is not None:
        rng = np.random.default_rng(seed)
        draws = rng.random((len(locations), len(tasks)))
        return [{t: bool(d < random_ratio)
                 for t, d in zip(tasks, row)} for row in draws]
    return [{
        task: patterns is None or any(
            fnmatch.fnmatch(loc, p) for p in patterns)
        for task, patterns in rules.items()
    } for loc in locations]
