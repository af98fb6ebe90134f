"""Per-city and per-location scene lists in the devkit's ``splits.json``.

The devkit evaluates any split name that is not built in by reading
``<root>/<version>/splits.json`` (``{name: [scene names]}``), which is how
Boston-only and Singapore-only results are computed.
"""
import json
import os
import os.path as osp
from typing import Dict, List

from ..structures.nuscenes_tables import LocationIndex
from .nuscenes_infos import load_json, scene_split_names

CITIES = ('boston', 'singapore')


def location_scene_splits(root: str, version: str) -> Dict[str, List[str]]:
    """Scene lists per official split, city and location.

    Args:
        root (str): nuScenes root.
        version (str): nuScenes version.

    Returns:
        dict: ``val_all`` (the official val scenes present), then for each
        official split ``<split>_<city>`` (``boston`` / ``singapore``) and
        ``<split>_<location>`` (e.g. ``val_singapore-onenorth``).
    """
    table_root = osp.join(root, version)
    logs, scenes = (
        load_json(osp.join(table_root, f'{name}.json'), 'nuScenes table')
        for name in ('log', 'scene'))
    scene_location = LocationIndex.from_records(logs, scenes).by_scene_name
    out: Dict[str, List[str]] = {}
    for split, names in scene_split_names(version).items():
        present = sorted(n for n in names if n in scene_location)
        if split == 'val':
            out['val_all'] = present
        for city in CITIES:
            out[f'{split}_{city}'] = [
                n for n in present if scene_location[n].startswith(city)]
        for location in sorted(set(scene_location.values())):
            out[f'{split}_{location}'] = [
                n for n in present if scene_location[n] == location]
    return out


def update_splits_json(root: str, version: str,
                       entries: Dict[str, List[str]]) -> str:
    """Merges entries into ``<root>/<version>/splits.json``.

    Existing entries with other names are kept; same-name entries are
    replaced.

    Args:
        root (str): nuScenes root.
        version (str): nuScenes version.
        entries (dict): split name -> scene names.

    Returns:
        str: the path written.
    """
    from nuscenes.utils.splits import create_splits_scenes
    builtin = sorted(set(entries) & set(create_splits_scenes()))
    if builtin:
        raise ValueError(f'split names {builtin} are built into the devkit; '
                         f'the devkit never reads them from splits.json')
    path = osp.join(root, version, 'splits.json')
    current = load_json(path, 'custom splits file') if osp.isfile(path) \
        else {}
    if not isinstance(current, dict):
        raise ValueError(f'custom splits file {path} must hold a json object '
                         f'{{name: [scene names]}}, found '
                         f'{type(current).__name__}')
    current.update(entries)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(current, f, indent=1, sort_keys=True)
    return path
