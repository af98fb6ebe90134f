"""``create_synthetic_nuscenes``: the whole set, from the scene plan to the
``splits.json`` of per-city scene lists."""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2

from ...converters.scene_splits import (location_scene_splits,
                                        update_splits_json)
from ...structures.nuscenes_meta import CAMERAS
from .map_expansion import LOCATIONS, MapExpansionBuilder, make_token
from .plan import layout_roads, plan_scenes
from .scene import SceneWriter
from .tables import Tables, add_log, add_static_records

VERSIONS = ('v1.0-mini', 'v1.0-trainval')


def create_synthetic_nuscenes(out_dir: str,
                              version: str = 'v1.0-mini',
                              num_scenes: int = 10,
                              samples_per_scene: int = 8,
                              sweeps_per_sample: int = 1,
                              image_size: Tuple[int, int] = (320, 180),
                              seed: int = 0) -> str:
    """Writes a synthetic nuScenes set that the devkit loads unchanged.

    Args:
        out_dir (str): the data root to create (may exist).
        version (str): 'v1.0-mini' (the real mini scene names, so the mini
            train/val split applies) or 'v1.0-trainval' (real trainval
            names, train/val about 80/20).
        num_scenes (int): number of scenes (at most 10 for v1.0-mini).
            With 4 or more, train and val each hold Boston and Singapore
            scenes; with 5 or more (mini) all four locations appear.
        samples_per_scene (int): key frames (2 Hz) per scene, at least 2.
        sweeps_per_sample (int): non-key lidar sweeps between key frames.
        image_size (tuple[int, int]): camera ``(width, height)``.
        seed (int): random seed; the output is a function of the arguments.

    Returns:
        str: the data root, ``out_dir``.
    """
    if version not in VERSIONS:
        raise ValueError(f'version must be one of {VERSIONS}, got '
                         f'{version!r}')
    if samples_per_scene < 2:
        raise ValueError(f'samples_per_scene must be >= 2, got '
                         f'{samples_per_scene}')
    if sweeps_per_sample < 0:
        raise ValueError(f'sweeps_per_sample must be >= 0, got '
                         f'{sweeps_per_sample}')
    width, height = (int(v) for v in image_size)
    if width < 16 or height < 16:
        raise ValueError(f'image_size must be at least 16x16, got '
                         f'{image_size}')
    plan = plan_scenes(version, num_scenes)
    roads = layout_roads(plan, samples_per_scene, seed)
    for folder in ['LIDAR_TOP', *CAMERAS]:
        os.makedirs(osp.join(out_dir, 'samples', folder), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'sweeps', 'LIDAR_TOP'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'maps', 'expansion'), exist_ok=True)

    tables = Tables()
    add_static_records(tables)
    log_tokens: Dict[str, List[str]] = {loc: [] for loc in LOCATIONS}
    for index, (name, location, _) in enumerate(plan):
        log, start_us = add_log(tables, seed, name, location)
        log_tokens[location].append(log)
        writer = SceneWriter(out_dir, tables, seed, name, location,
                             roads[name], index, samples_per_scene,
                             sweeps_per_sample, (width, height))
        writer.write(log, start_us)

    _write_maps(out_dir, tables, seed, roads, log_tokens)
    tables.dump(osp.join(out_dir, version))
    update_splits_json(out_dir, version,
                       location_scene_splits(out_dir, version))
    return out_dir


def _write_maps(out_dir: str, tables: Tables, seed: int, roads: dict,
                log_tokens: Dict[str, List[str]]) -> None:
    """Writes each location's map expansion and semantic-prior png, and
    adds its ``map`` record.

    Args:
        out_dir (str): data root.
        tables (Tables): the tables to fill.
        seed (int): global seed (part of the map token).
        roads (dict): from :func:`~.plan.layout_roads`.
        log_tokens (dict[str, list[str]]): location -> its logs.
    """
    for location in LOCATIONS:
        builder = MapExpansionBuilder(location)
        seen = []
        for road in roads[location]:
            # Scenes may share a road; each road goes on the map once.
            if all(road is not r for r in seen):
                builder.add_road(road)
                seen.append(road)
        with open(osp.join(out_dir, 'maps', 'expansion',
                           f'{location}.json'), 'w') as f:
            json.dump(builder.to_json(), f)
        token = make_token(seed, 'map', location)
        filename = f'maps/{token}.png'
        cv2.imwrite(osp.join(out_dir, filename), builder.semantic_prior(),
                    [cv2.IMWRITE_PNG_COMPRESSION, 1])
        tables.add('map', token, log_tokens=log_tokens[location],
                   category='semantic_prior', filename=filename)
