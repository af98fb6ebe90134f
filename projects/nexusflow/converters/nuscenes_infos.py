"""Stock mmdet3d info files for ``NuScenesDataset``, made by mmdet3d's own
converters.

The converters ship with mmdet3d under ``mmdet3d/.mim/tools/`` (not an
importable package), so they are loaded from that file location. They make a
few assumptions that we work around from the outside, without copying them:

* ``nuscenes_converter.create_nuscenes_infos`` writes its v1 pkl files into
  the *data root*. We give it a staging folder inside the output folder that
  mirrors the root with symlinks, so a read-only root works and nothing is
  written next to the raw data.
* ``update_infos_to_v2.update_nuscenes_infos`` opens the devkit with the
  hard-coded root ``./data/nuscenes``. We replace the module's ``NuScenes``
  name with a loader that returns the devkit instance of the real root.
* ``convert_utils.post_process_coords`` clips camera boxes to a hard-coded
  1600 x 900 canvas. We bind it to the real image size of the data.
* ``create_gt_database.create_groundtruth_database`` writes next to the data
  root unless told otherwise; we pass explicit output paths.
"""
import contextlib
import functools
import importlib.util
import json
import os
import os.path as osp
import shutil
import sys
from typing import Dict, Iterator, List, Optional

from ..structures.nuscenes_meta import TABLES

CONVERTER_DIR = ('.mim', 'tools', 'dataset_converters')


# What the devkit's NuScenesMap reads from a map expansion json (v1.3).
MAP_EXPANSION_KEYS = (
    'canvas_edge', 'polygon', 'line', 'node', 'drivable_area',
    'road_segment', 'road_block', 'lane', 'ped_crossing', 'walkway',
    'stop_line', 'carpark_area', 'lane_connector', 'road_divider',
    'lane_divider', 'traffic_light')


def load_json(path: str, what: str = 'file'):
    """Reads a json file with one clear error per failure mode.

    Args:
        path (str): the file.
        what (str): what the file is, for the message.

    Returns:
        Any: the parsed content.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not valid json.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path} does not exist')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'{what} {path} is corrupt json: {err.msg} at line '
                         f'{err.lineno} column {err.colno}') from None


def check_nuscenes_root(root: str, version: str,
                        need_map_expansion: bool = True) -> List[str]:
    """Validates a nuScenes data root before any converter touches it.

    Args:
        root (str): the data root.
        version (str): e.g. 'v1.0-mini'; ``<root>/<version>`` must exist.
        need_map_expansion (bool): also require
            ``maps/expansion/<location>.json`` for every logged location.

    Returns:
        list[str]: the locations of the logs.

    Raises:
        FileNotFoundError: missing root, version folder, table, map png or
            map expansion file.
        ValueError: a corrupt json file or a log location with no map.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'nuScenes root {root} does not exist')
    table_root = osp.join(root, version)
    if not osp.isdir(table_root):
        found = sorted(d for d in os.listdir(root)
                       if d.startswith('v1.0') and
                       osp.isdir(osp.join(root, d)))
        raise FileNotFoundError(
            f'{table_root} does not exist: no tables for version {version} '
            f'under {root} (versions found: {found or "none"})')
    for table in TABLES:
        rows = load_json(osp.join(table_root, f'{table}.json'),
                         'nuScenes table')
        if table == 'log':
            locations = sorted({row['location'] for row in rows})
        elif table == 'map':
            for row in rows:
                if not osp.isfile(osp.join(root, row['filename'])):
                    raise FileNotFoundError(
                        f'map png {osp.join(root, row["filename"])} (from '
                        f'{table_root}/map.json) does not exist')
    if need_map_expansion:
        for location in locations:
            path = osp.join(root, 'maps', 'expansion', f'{location}.json')
            data = load_json(path, f'map expansion for {location}')
            missing = [key for key in MAP_EXPANSION_KEYS
                       if not isinstance(data, dict) or key not in data]
            if missing:
                raise ValueError(
                    f'map expansion {path} has no {", ".join(missing)}; '
                    f'expected the nuScenes map expansion v1.3 layers '
                    f'{", ".join(MAP_EXPANSION_KEYS)}')
    return locations


def load_converter(name: str):
    """Imports one of mmdet3d's shipped dataset converters by file.

    Args:
        name (str): module name in ``mmdet3d/.mim/tools/dataset_converters``.

    Returns:
        module: the loaded module.
    """
    import mmdet3d
    path = osp.join(osp.dirname(mmdet3d.__file__), *CONVERTER_DIR,
                    f'{name}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(f'mmdet3d {mmdet3d.__version__} does not '
                                f'ship {path}; reinstall mmdet3d==1.4.0')
    module_name = f'mmdet3d_dataset_converters.{name}'
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


@contextlib.contextmanager
def _patched(module, name: str, value) -> Iterator[None]:
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def _stage_root(root: str, stage: str) -> None:
    """Mirrors the data root's entries into ``stage`` with symlinks."""
    os.makedirs(stage, exist_ok=True)
    for entry in os.listdir(root):
        link = osp.join(stage, entry)
        if not osp.lexists(link):
            os.symlink(osp.abspath(osp.join(root, entry)), link)


def _camera_size(nusc) -> tuple:
    """Image (width, height) of the first camera key frame."""
    for record in nusc.sample_data:
        if record['sensor_modality'] == 'camera' and record['width']:
            return record['width'], record['height']
    return 1600, 900


def _relative_sweep_paths(info_path: str, stage: str) -> None:
    """Makes the sweep paths relative to the data root.

    The v2 update keeps the converter's full sweep paths, which point into
    the (deleted) staging folder; mmdet3d only needs ``sweeps/...``.
    """
    import mmengine
    infos = mmengine.load(info_path)
    for info in infos['data_list']:
        for sweep in info.get('lidar_sweeps', []):
            points = sweep['lidar_points']
            points['lidar_path'] = osp.relpath(points['lidar_path'], stage)
    mmengine.dump(infos, info_path)


def create_stock_infos(root: str, version: str, out_dir: str,
                       max_sweeps: int = 10,
                       info_prefix: str = 'nuscenes',
                       with_gt_database: bool = True) -> Dict[str, str]:
    """Runs mmdet3d's nuScenes converters end to end.

    Args:
        root (str): nuScenes data root.
        version (str): 'v1.0-mini', 'v1.0-trainval' or 'v1.0-test'.
        out_dir (str): where the info files go. The gt database paths in
            the dbinfos are relative to ``out_dir``, so ObjectSample's
            ``data_root`` must be ``out_dir`` (usually the data root).
        max_sweeps (int): lidar sweeps recorded per key frame.
        info_prefix (str): file name prefix.
        with_gt_database (bool): also build the gt database (train only).

    Returns:
        dict: 'train', 'val' (or 'test') info paths, and 'dbinfos'.
    """
    from nuscenes import NuScenes

    check_nuscenes_root(root, version, need_map_expansion=False)
    converter = load_converter('nuscenes_converter')
    to_v2 = load_converter('update_infos_to_v2')
    from mmdet3d.datasets import convert_utils

    os.makedirs(out_dir, exist_ok=True)
    stage = osp.join(out_dir, f'.{info_prefix}_staging')
    _stage_root(root, stage)
    splits = ['test'] if 'test' in version else ['train', 'val']
    paths = {}
    try:
        converter.create_nuscenes_infos(stage, info_prefix, version=version,
                                        max_sweeps=max_sweeps)
        nusc = NuScenes(version=version, dataroot=root, verbose=False)

        def devkit(version, dataroot=None, verbose=True):
            return nusc

        clip = functools.partial(convert_utils.post_process_coords,
                                 imsize=_camera_size(nusc))
        with _patched(to_v2, 'NuScenes', devkit), \
                _patched(convert_utils, 'post_process_coords', clip):
            for split in splits:
                name = f'{info_prefix}_infos_{split}.pkl'
                to_v2.update_nuscenes_infos(
                    pkl_path=osp.join(stage, name), out_dir=out_dir)
                paths[split] = osp.join(out_dir, name)
                _relative_sweep_paths(paths[split], stage)
    finally:
        shutil.rmtree(stage, ignore_errors=True)

    if with_gt_database and 'train' in paths:
        from mmengine.registry import DefaultScope
        gt_db = load_converter('create_gt_database')
        paths['dbinfos'] = osp.join(out_dir,
                                    f'{info_prefix}_dbinfos_train.pkl')
        # Its pipeline names mmdet3d transforms without a scope.
        with DefaultScope.overwrite_default_scope('mmdet3d'):
            # Absolute: the converter's dataset joins data_root + ann_file.
            gt_db.create_groundtruth_database(
                'NuScenesDataset', root, info_prefix,
                osp.abspath(paths['train']),
                database_save_path=osp.join(out_dir,
                                            f'{info_prefix}_gt_database'),
                db_info_save_path=paths['dbinfos'])
    return paths


def scene_split_names(version: str) -> Dict[str, Optional[list]]:
    """The devkit's official train/val scene names for a version.

    Args:
        version (str): nuScenes version.

    Returns:
        dict: 'train' and 'val' -> scene names.
    """
    from nuscenes.utils import splits
    if version == 'v1.0-mini':
        return dict(train=splits.mini_train, val=splits.mini_val)
    if version == 'v1.0-trainval':
        return dict(train=splits.train, val=splits.val)
    if version == 'v1.0-test':
        return dict(test=splits.test)
    raise ValueError(f'unknown nuScenes version {version!r}; expected '
                     f'v1.0-mini, v1.0-trainval or v1.0-test')
