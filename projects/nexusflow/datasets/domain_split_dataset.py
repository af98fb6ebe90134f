"""Per-task supervision masks by nuScenes location, applied to any dataset.

The policy (tasks, rules, masks) is in :mod:`.domain_split_rules`, the edits
of the infos in :mod:`.domain_split_stripping`; this module holds the
wrapper, which finds each sample's location, writes the stripped infos back
into the wrapped dataset and stamps ``task_mask`` on its outputs.
"""
import copy
import os
import os.path as osp
import pickle
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmdet3d.registry import DATASETS
from ..structures.nuscenes_tables import LocationIndex
from .database_filter import class_tasks, database_samplers, filter_database
from .domain_split_rules import (DEFAULT_TASKS, TaskMask, check_random_ratio,
                                 check_rules, normalize_tasks, task_masks)
from .domain_split_stripping import set_task_mask, strip_unlabeled

__all__ = [
    'DEFAULT_TASKS', 'NuScenesDomainSplitDataset', 'check_rules',
    'innermost_dataset', 'normalize_tasks', 'sample_locations'
]


def innermost_dataset(dataset) -> BaseDataset:
    """The BaseDataset that holds the infos under any wrappers.

    Args:
        dataset: a BaseDataset, or a wrapper exposing the wrapped one as
            ``.dataset`` (as mmengine's and mmdet3d's wrappers do).

    Returns:
        BaseDataset: the innermost dataset.

    Raises:
        TypeError: no BaseDataset along the ``.dataset`` chain.
    """
    while not isinstance(dataset, BaseDataset) and hasattr(dataset,
                                                           'dataset'):
        dataset = dataset.dataset
    if not isinstance(dataset, BaseDataset):
        raise TypeError(f'NuScenesDomainSplitDataset: cannot find a '
                        f'BaseDataset inside {type(dataset).__name__}')
    return dataset


def sample_locations(data_root: str, version: str) -> Dict[str, str]:
    """Sample token -> ``log.location``, read from the nuScenes tables.

    Args:
        data_root (str): nuScenes root.
        version (str): version folder under the root.

    Returns:
        dict[str, str]: the location of every sample of the version.
    """
    from ..converters.nuscenes_infos import load_json
    logs, scenes, samples = (
        load_json(osp.join(data_root, version, f'{name}.json'),
                  'nuScenes table') for name in ('log', 'scene', 'sample'))
    return LocationIndex.from_records(logs, scenes, samples).by_sample


def _store_infos(dataset: BaseDataset, infos: List[dict]) -> None:
    """Makes ``infos`` the content of ``dataset``, in its own storage.

    mmengine offers no public way to replace a loaded dataset's infos, so
    this writes the attributes that the public ``get_data_info`` and
    ``__len__`` read: ``data_list``, or, for a serializing dataset (the
    default), ``data_bytes`` / ``data_address`` (one pickle per info,
    back to back, and their end offsets). That is the layout
    ``BaseDataset.get_data_info`` decodes; the wrapper's tests read every
    info back through it, so a change on mmengine's side fails loudly.
    Calling the private ``_serialize_data()`` would also have emptied the
    caller's list in place.

    Args:
        dataset (BaseDataset): a fully initialized dataset.
        infos (list[dict]): its new infos, one per index.
    """
    if not dataset.serialize_data:
        dataset.data_list = infos
        return
    blobs = [np.frombuffer(pickle.dumps(info, protocol=4), dtype=np.uint8)
             for info in infos]
    dataset.data_address = np.cumsum(
        np.asarray([len(b) for b in blobs], dtype=np.int64))
    dataset.data_bytes = np.concatenate(blobs) if blobs else np.zeros(
        0, np.uint8)
    # Serialized datasets keep no list: workers then share the bytes
    # without touching Python refcounts (copy-on-read).
    dataset.data_list = []


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
    ``configs/_base_/domain_rules/``), no rules (full supervision), or
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
        check_random_ratio(random_ratio, rules)
        self.random_ratio = random_ratio
        self.seed = seed
        self.version = version
        inner = innermost_dataset(self.dataset)
        self.tasks = normalize_tasks(tasks, inner.metainfo['classes'])
        self.rules = check_rules(rules, list(self.tasks))
        self._metainfo = self.dataset.metainfo
        self._metainfo['tasks'] = list(self.tasks)
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The wrapped dataset's metainfo plus ``tasks`` (a copy)."""
        return copy.deepcopy(self._metainfo)

    # ------------------------------------------------------------ building
    def full_init(self) -> None:
        """Initializes the wrapped dataset, computes the masks and strips
        the GT of unlabeled tasks."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        inner = innermost_dataset(self.dataset)
        infos = [inner.get_data_info(i) for i in range(len(inner))]
        locations = self._locations(inner, infos)
        masks = self._masks(locations)
        classes = type(inner).METAINFO.get('classes', ()) if hasattr(
            type(inner), 'METAINFO') else ()
        for info, mask in zip(infos, masks):
            strip_unlabeled(info, mask, self.tasks, inner.metainfo['classes'],
                            classes)
            info['task_mask'] = dict(mask)
        _store_infos(inner, infos)
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
        self.database_counts = self._filter_databases(inner)
        self._fully_initialized = True

    def _filter_databases(self, inner: BaseDataset) -> List[dict]:
        """Keeps ObjectSample's database inside the split (see
        :mod:`database_filter`); returns ``{class: (kept, total)}`` per
        database of the pipeline."""
        tasks_of = class_tasks(self.tasks, inner.metainfo['classes'])
        return [filter_database(sampler, self._by_index, tasks_of)
                for sampler in database_samplers(inner.pipeline)]

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
            lookup = sample_locations(root, version)
            if all(t in lookup for t in tokens):
                return [lookup[t] for t in tokens]
        raise ValueError(
            f'NuScenesDomainSplitDataset: no nuScenes version under {root} '
            f'(tried {[v for v in versions if v]}) holds all sample tokens '
            f'of the infos; pass version=... or check that infos and tables '
            f'belong together')

    def _masks(self, locations: List[str]) -> List[TaskMask]:
        return task_masks(locations, self.rules, list(self.tasks),
                          self.random_ratio, self.seed)

    def _log_table(self, locations: List[str],
                   masks: List[TaskMask]) -> None:
        from terminaltables import AsciiTable
        rows = [['location', 'samples'] + list(self.tasks)]
        for loc in sorted(set(locations)):
            members = [m for where, m in zip(locations, masks)
                       if where == loc]
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
        """The wrapped dataset's category ids of sample ``idx`` (after
        stripping, so CBGS balances the labels that exist)."""
        self._check_init()
        return self.dataset.get_cat_ids(idx)

    def task_mask(self, idx: int) -> TaskMask:
        """``{task: labeled}`` of sample ``idx``."""
        return dict(self.get_data_info(idx)['task_mask'])

    def __getitem__(self, idx: int):
        self._check_init()
        dataset = self.dataset
        if isinstance(dataset, BaseDataset):
            data, idx = self._prepare_with_refetch(dataset, idx)
            mask = self.task_masks[idx]
        else:
            data = dataset[idx]
            mask = None
        set_task_mask(data, mask, self._by_token, self._by_index)
        return data

    @staticmethod
    def _prepare_with_refetch(dataset: BaseDataset,
                              idx: int) -> Tuple[object, int]:
        """``BaseDataset.__getitem__``'s retry loop, keeping the index that
        finally produced the data (its mask is the one to stamp).

        Args:
            dataset (BaseDataset): the wrapped dataset.
            idx (int): requested index.

        Returns:
            tuple: the pipeline output and the index it came from.

        Raises:
            RuntimeError: the pipeline returned None on every try.
        """
        tries = 1 if dataset.test_mode else dataset.max_refetch + 1
        data = None
        for _ in range(tries):
            data = dataset.prepare_data(idx)
            if data is not None:
                break
            # The same draw as mmengine's BaseDataset uses for a refetch.
            idx = np.random.randint(0, len(dataset))
        if data is None:
            raise RuntimeError(f'NuScenesDomainSplitDataset: the pipeline '
                               f'returned None for sample {idx} (after '
                               f'{tries} tries)')
        return data, idx
