"""Scenes of a nuScenes split, and a read-only overlay root for custom splits.

The devkit evaluates an ``eval_set`` it does not know by reading
``<dataroot>/<version>/splits.json``. To evaluate per-domain subsets without
writing into the user's data root, :func:`overlay_root` builds a temporary
root of symlinks to the real tables and maps plus its own ``splits.json``.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List, Mapping, Sequence, Union

from ..structures.nuscenes_tables import LocationIndex

SCENE_TABLES = ('scene', 'log', 'sample')
# The version suffix each built-in devkit split needs (as the devkit checks).
BUILTIN_VERSIONS = dict(
    train='trainval',
    val='trainval',
    mini_train='mini',
    mini_val='mini',
    test='test')


@dataclass
class SceneInfo:
    """A nuScenes scene as the tracking metric needs it.

    Attributes:
        name (str): scene name, e.g. ``'scene-0103'``.
        location (str): ``log.location`` of the scene.
        sample_tokens (list[str]): key frames in time order.
    """
    name: str
    location: str
    sample_tokens: List[str]


def check_version_dir(data_root: str, version: str, owner: str) -> str:
    """Checks ``<data_root>/<version>`` and returns it.

    Args:
        data_root (str): nuScenes root folder.
        version (str): e.g. ``'v1.0-trainval'``.
        owner (str): name of the caller, used in error messages.

    Returns:
        str: the version folder.

    Raises:
        FileNotFoundError: naming the missing folder (and, for a wrong
            version, the versions that are there).
    """
    if not osp.isdir(data_root):
        raise FileNotFoundError(
            f'{owner}: nuScenes data_root {data_root!r} does not exist')
    table_dir = osp.join(data_root, version)
    if not osp.isdir(table_dir):
        found = sorted(d for d in os.listdir(data_root)
                       if osp.isfile(osp.join(data_root, d, 'scene.json')))
        raise FileNotFoundError(
            f'{owner}: nuScenes version folder {table_dir!r} does not exist '
            f'(version={version!r}); versions found in {data_root!r}: '
            f'{found}')
    return table_dir


def _load_table(table_dir: str, name: str, owner: str) -> list:
    path = osp.join(table_dir, f'{name}.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{owner}: nuScenes table {path!r} is missing')
    with open(path) as f:
        return json.load(f)


def load_scenes(data_root: str, version: str,
                owner: str) -> Dict[str, SceneInfo]:
    """Reads scene names, locations and key frames from the json tables.

    Only ``scene``, ``log`` and ``sample`` are read, which is much lighter
    than building a ``NuScenes`` object.

    Args:
        data_root (str): nuScenes root folder.
        version (str): e.g. ``'v1.0-trainval'``.
        owner (str): name of the caller, used in error messages.

    Returns:
        dict[str, SceneInfo]: by scene name.
    """
    table_dir = check_version_dir(data_root, version, owner)
    scenes, logs, samples = (
        _load_table(table_dir, name, owner) for name in SCENE_TABLES)
    locations = LocationIndex.from_records(logs, scenes).by_scene
    next_token = {s['token']: s['next'] for s in samples}
    index = {}
    for scene in scenes:
        tokens, token = [], scene['first_sample_token']
        while token:
            if token not in next_token:
                raise ValueError(f'{owner}: scene {scene["name"]!r} links to '
                                 f'sample {token!r}, which is not in '
                                 f'{osp.join(table_dir, "sample.json")}')
            tokens.append(token)
            token = next_token[token]
        index[scene['name']] = SceneInfo(scene['name'],
                                         locations[scene['token']], tokens)
    return index


def resolve_split(eval_set: Union[str, Sequence[str]], data_root: str,
                  version: str, scenes: Mapping[str, SceneInfo],
                  owner: str) -> List[str]:
    """Scene names of ``eval_set`` that exist in this version.

    Args:
        eval_set (str | Sequence[str]): a devkit split name (``'val'``,
            ``'mini_val'``...), a custom split from
            ``<data_root>/<version>/splits.json``, or explicit scene names.
        data_root (str): nuScenes root folder.
        version (str): e.g. ``'v1.0-trainval'``.
        scenes (Mapping[str, SceneInfo]): from :func:`load_scenes`.
        owner (str): name of the caller, used in error messages.

    Returns:
        list[str]: scene names, in split order.

    Raises:
        ValueError: for an unknown split, unknown scene names, or a split
            without any scene of this version.
    """
    from nuscenes.utils.splits import create_splits_scenes

    if isinstance(eval_set, str):
        builtin = create_splits_scenes()
        splits_file = osp.join(data_root, version, 'splits.json')
        custom = {}
        if osp.isfile(splits_file):
            with open(splits_file) as f:
                custom = json.load(f)
        if eval_set in builtin:
            suffix = BUILTIN_VERSIONS.get(eval_set, '')
            if not version.endswith(suffix):
                raise ValueError(
                    f'{owner}: devkit split {eval_set!r} belongs to '
                    f'*{suffix} versions, not {version!r} (v1.0-mini has '
                    f"'mini_train' / 'mini_val')")
            names = builtin[eval_set]
        elif eval_set in custom:
            names = custom[eval_set]
        else:
            raise ValueError(
                f'{owner}: eval_set {eval_set!r} is neither a devkit split '
                f'{sorted(builtin)} nor a custom split in {splits_file!r} '
                f'({sorted(custom)})')
        # A partial copy of a version (e.g. a synthetic one) holds only some
        # of the split's scenes; like the devkit, score the ones it has.
        selected = [n for n in names if n in scenes]
    else:
        names = list(eval_set)
        unknown = [n for n in names if n not in scenes]
        if unknown:
            raise ValueError(f'{owner}: eval_set scenes {unknown} are not in '
                             f'{osp.join(data_root, version, "scene.json")}')
        selected = names
    if not selected:
        raise ValueError(f'{owner}: eval_set {eval_set!r} has no scene in '
                         f'{osp.join(data_root, version)} (e.g. use '
                         f"'mini_val' with v1.0-mini)")
    return selected


@contextmanager
def overlay_root(data_root: str, version: str,
                 splits: Mapping[str, Sequence[str]]) -> Iterator[str]:
    """A temporary nuScenes root with extra custom splits.

    Every entry of ``data_root`` and ``data_root/version`` is symlinked,
    except ``<version>/splits.json``, which is written with the user's own
    custom splits (if any) plus ``splits``. The real root is never written.

    Args:
        data_root (str): nuScenes root folder.
        version (str): e.g. ``'v1.0-trainval'``.
        splits (Mapping[str, Sequence[str]]): ``{split name: scene names}``.

    Yields:
        str: the overlay root, removed on exit.
    """
    data_root = osp.abspath(data_root)
    tmp = tempfile.mkdtemp(prefix='nexusflow_nusc_')
    try:
        for entry in os.listdir(data_root):
            if entry != version:
                os.symlink(osp.join(data_root, entry), osp.join(tmp, entry))
        table_dir = osp.join(data_root, version)
        os.mkdir(osp.join(tmp, version))
        all_splits = {}
        for entry in os.listdir(table_dir):
            if entry == 'splits.json':
                with open(osp.join(table_dir, entry)) as f:
                    all_splits.update(json.load(f))
            else:
                os.symlink(
                    osp.join(table_dir, entry), osp.join(tmp, version, entry))
        all_splits.update({k: list(v) for k, v in splits.items()})
        with open(osp.join(tmp, version, 'splits.json'), 'w') as f:
            json.dump(all_splits, f)
        yield tmp
    finally:
        # rmtree unlinks the symlinks without following them.
        shutil.rmtree(tmp, ignore_errors=True)
