"""Per-task supervision masks by nuScenes location, applied to any dataset."""
import copy
import fnmatch
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet3d.registry import DATASETS
from mmdet3d.structures import BaseInstance3DBoxes

# The NuScenesTrackMapDataset tasks: boxes with track ids, and map masks.
DEFAULT_TASKS = OrderedDict(
    track=dict(type='instances', classes=None),
    map=dict(type='keys', keys=('map_masks', 'gt_map')))


def _innermost(dataset) -> BaseDataset:
    """The BaseDataset that holds the infos under any wrappers."""
    while not isinstance(dataset, BaseDataset) and hasattr(dataset,
                                                           'dataset'):
        dataset = dataset.dataset
    if not isinstance(dataset, BaseDataset):
        raise TypeError(f'NuScenesDomainSplitDataset: cannot find a '
                        f'BaseDataset inside {type(dataset).__name__}')
    return dataset


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


class SampleLocations:
    """Sample token -> ``log.location``, read from the nuScenes tables.

    Args:
        data_root (str): nuScenes root.
        version (str): version folder under the root.
    """

    def __init__(self, data_root: str, version: str) -> None:
        from ..converters.nuscenes_infos import load_json
        table_root = osp.join(data_root, version)
        logs = {r['token']: r['location'] for r in load_json(
            osp.join(table_root, 'log.json'), 'nuScenes table')}
        scenes = {r['token']: logs[r['log_token']] for r in load_json(
            osp.join(table_root, 'scene.json'), 'nuScenes table')}
        self.by_sample = {r['token']: scenes[r['scene_token']]
                          for r in load_json(
                              osp.join(table_root, 'sample.json'),
                              'nuScenes table')}

    def __call__(self, token: str) -> str:
        return self.by_sample[token]


@DATASETS.register_module()
class NuScenesDomainSplitDataset:
    """Labels each task only in some places (or at random) and strips the
    GT of unlabeled tasks from the infos.

    Every sample gets ``task_mask = {task: bool}`` in its info and in its
    data samples' metainfo. Where a task is unlabeled its GT is removed
    from the wrapped dataset's infos (``instances``, ``ann_info``,
    ``eval_ann_info``, ``cam_instances`` for instance tasks; the listed info
    keys for key tasks), so no later component can read it. A build-time
    table logs the labeled samples per task and location.

    Modes: ``rules`` (the paper's domain split and its reverse, see
    ``data_splits/nuscenes/``), no rules (full supervision), or
    ``random_ratio`` (each task of each sample labeled with that
    probability, seeded; the idealized PS-MTL setting).

    To combine with ``CBGSDataset``, put this wrapper inside it, so that
    class-balanced sampling sees the stripped labels.

    Args:
        dataset (dict | BaseDataset): the dataset to wrap.
        rules (dict, optional): task -> list of fnmatch globs over
            ``log.location`` where the task is labeled; None or a missing
            task means labeled everywhere.
        tasks (dict, optional): task definitions (see
            :func:`normalize_tasks`); defaults to ``track`` (all boxes) and
            ``map`` (``map_masks``), the NuScenesTrackMapDataset tasks. A
            CenterPoint config can use class groups, e.g.
            ``dict(vehicle=dict(classes=['car', 'truck']), vru=dict(
            classes=['pedestrian']))``.
        random_ratio (float, optional): labeled probability per task and
            sample; excludes ``rules``.
        seed (int): seed of the random mode.
        version (str, optional): nuScenes version to read locations from
            when the infos have no ``location``; defaults to the wrapped
            dataset's ``metainfo['version']``.
        lazy_init (bool): defer loading until first use.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 rules: Optional[Mapping[str, Optional[Sequence[str]]]] = None,
                 tasks: Optional[Mapping[str, dict]] = None,
                 random_ratio: Optional[float] = None,
                 seed: int = 0,
                 version: Optional[str] = None,
                 lazy_init: bool = False) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) \
            else dataset
        if random_ratio is not None:
            if rules:
                raise ValueError('NuScenesDomainSplitDataset: give either '
                                 'rules or random_ratio, not both')
            if not 0.0 <= float(random_ratio) <= 1.0:
                raise ValueError(f'NuScenesDomainSplitDataset: random_ratio '
                                 f'must be in [0, 1], got {random_ratio}')
        self.random_ratio = random_ratio
        self.seed = seed
        self.version = version
        inner = _innermost(self.dataset)
        self.tasks = normalize_tasks(tasks, inner.metainfo['classes'])
        self.rules = check_rules(rules, list(self.tasks))
        self._metainfo = self.dataset.metainfo
        self._metainfo['tasks'] = list(self.tasks)
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self._metainfo)

    # ------------------------------------------------------------ building
    def full_init(self) -> None:
        """Initializes the wrapped dataset, computes the masks and strips
        the GT of unlabeled tasks."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        inner = _innermost(self.dataset)
        infos = [inner.get_data_info(i) for i in range(len(inner))]
        locations = self._locations(inner, infos)
        masks = self._masks(locations)
        classes = type(inner).METAINFO.get('classes', ()) if hasattr(
            type(inner), 'METAINFO') else ()
        for info, mask in zip(infos, masks):
            self._strip(info, mask, inner.metainfo['classes'], classes)
            info['task_mask'] = dict(mask)
        if inner.serialize_data:
            inner.data_list = infos
            inner.data_bytes, inner.data_address = inner._serialize_data()
        else:
            inner.data_list = infos
        if any(spec['type'] == 'instances' and not all(m[t] for m in masks)
               for t, spec in self.tasks.items()) and getattr(
                   inner, 'filter_empty_gt', False):
            # Unlabeled samples have no boxes by design; keep them.
            inner.filter_empty_gt = False
            print_log('NuScenesDomainSplitDataset: set filter_empty_gt=False'
                      ' on the wrapped dataset', logger='current')
        self.task_masks = masks
        self._by_token = {info.get('token'): m
                          for info, m in zip(infos, masks)}
        self._by_index = {info.get('sample_idx'): m
                          for info, m in zip(infos, masks)}
        self._log_table(locations, masks)
        self._fully_initialized = True

    def _locations(self, inner: BaseDataset, infos: List[dict]) -> List[str]:
        """``log.location`` per info: from the info, or else from the
        nuScenes tables of the version that holds all the sample tokens
        (stock mmdet3d metainfo always says v1.0-trainval, so the version
        folders under the data root are tried too)."""
        if all('location' in info for info in infos):
            return [info['location'] for info in infos]
        root = inner.data_root
        if not root or not osp.isdir(root):
            raise ValueError(
                'NuScenesDomainSplitDataset: the infos have no location and '
                f'the wrapped dataset\'s data_root {root!r} is not a folder '
                'to read the nuScenes tables from')
        if self.version:
            versions = [self.version]
        else:
            versions = [inner.metainfo.get('version')] + sorted(
                d for d in os.listdir(root) if d.startswith('v1.0'))
        tokens = [info['token'] for info in infos]
        for version in dict.fromkeys(v for v in versions if v):
            if not osp.isfile(osp.join(root, version, 'sample.json')):
                continue
            lookup = SampleLocations(root, version)
            if all(t in lookup.by_sample for t in tokens):
                return [lookup(t) for t in tokens]
        raise ValueError(
            f'NuScenesDomainSplitDataset: no nuScenes version under {root} '
            f'(tried {[v for v in versions if v]}) holds all sample tokens '
            f'of the infos; pass version=... or check that infos and tables '
            f'belong together')

    def _masks(self, locations: List[str]) -> List[Dict[str, bool]]:
        if self.random_ratio is not None:
            rng = np.random.default_rng(self.seed)
            draws = rng.random((len(locations), len(self.tasks)))
            return [{t: bool(d < self.random_ratio)
                     for t, d in zip(self.tasks, row)} for row in draws]
        masks = []
        for loc in locations:
            masks.append({
                task: patterns is None or any(
                    fnmatch.fnmatch(loc, p) for p in patterns)
                for task, patterns in self.rules.items()
            })
        return masks

    def _strip(self, info: dict, mask: Dict[str, bool],
               classes: Sequence[str], raw_classes: Sequence[str]) -> None:
        """Removes the GT of the unlabeled tasks of one info in place."""
        drop, drop_all = set(), False
        for task, spec in self.tasks.items():
            if mask[task]:
                continue
            if spec['type'] == 'keys':
                for key in spec['keys']:
                    info.pop(key, None)
                    for ann_key in ('ann_info', 'eval_ann_info'):
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
                return not drop_all and label is not None and label < 0
            return raw_classes[label] not in drop

        for key in ('instances', ):
            if key in info:
                info[key] = [ins for ins in info[key] if keep_raw(ins)]
        if isinstance(info.get('cam_instances'), dict):
            info['cam_instances'] = {
                cam: [ins for ins in items if keep_raw(ins)]
                for cam, items in info['cam_instances'].items()
            }
        for ann_key in ('ann_info', 'eval_ann_info'):
            ann = info.get(ann_key)
            if isinstance(ann, dict) and 'gt_labels_3d' in ann:
                labels = np.asarray(ann['gt_labels_3d'])
                keep = np.array([
                    not drop_all and (label < 0 or classes[label] not in drop)
                    for label in labels.tolist()
                ], dtype=bool).reshape(-1)
                info[ann_key] = _select(ann, keep, keep_raw)

    def _log_table(self, locations: List[str],
                   masks: List[Dict[str, bool]]) -> None:
        from terminaltables import AsciiTable
        rows = [['location', 'samples'] + list(self.tasks)]
        for loc in sorted(set(locations)):
            members = [m for l, m in zip(locations, masks) if l == loc]
            rows.append([loc, len(members)] + [
                sum(m[t] for m in members) for t in self.tasks])
        rows.append(['all', len(masks)] +
                    [sum(m[t] for m in masks) for t in self.tasks])
        if self.random_ratio is not None:
            mode = f'random_ratio={self.random_ratio}, seed={self.seed}'
        else:
            mode = 'rules=' + str({t: list(p) if p else None
                                   for t, p in self.rules.items()})
        print_log(f'NuScenesDomainSplitDataset ({mode}): labeled samples per '
                  f'task and location\n{AsciiTable(rows).table}',
                  logger='current')

    # ------------------------------------------------------------- access
    def _check_init(self) -> None:
        if not self._fully_initialized:
            self.full_init()

    def __len__(self) -> int:
        self._check_init()
        return len(self.dataset)

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's info (already stripped, with task_mask)."""
        self._check_init()
        return self.dataset.get_data_info(idx)

    def get_cat_ids(self, idx: int):
        self._check_init()
        return self.dataset.get_cat_ids(idx)

    def task_mask(self, idx: int) -> Dict[str, bool]:
        """``{task: labeled}`` of sample ``idx``."""
        return dict(self.get_data_info(idx)['task_mask'])

    def __getitem__(self, idx: int):
        self._check_init()
        dataset = self.dataset
        if isinstance(dataset, BaseDataset):
            data = None
            tries = 1 if dataset.test_mode else dataset.max_refetch + 1
            for _ in range(tries):
                data = dataset.prepare_data(idx)
                if data is not None:
                    break
                idx = dataset._rand_another()
            if data is None:
                raise RuntimeError(f'NuScenesDomainSplitDataset: the '
                                   f'pipeline returned None for sample '
                                   f'{idx} (after {tries} tries)')
            mask = self.task_masks[idx]
        else:
            data = dataset[idx]
            mask = None
        _set_task_mask(data, mask, self._by_token, self._by_index)
        return data


def _select(ann: dict, keep: np.ndarray, keep_raw) -> dict:
    """Row-selects every per-instance array of an ``ann_info``."""
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


def _set_task_mask(data, mask: Optional[dict], by_token: dict,
                   by_index: dict) -> None:
    """Writes ``task_mask`` into the metainfo of every data sample that
    does not carry one yet."""
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
