"""Which scenes the synthetic set holds (real scene names, locations and
train/val membership) and where each one's road lies on its city map."""
import math
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from .map_expansion import LOCATIONS, MAP_DIMS, StraightRoad, drives_on_left

# The real v1.0-mini scenes (name, location, split), ordered so that any
# prefix of 4 or more holds Boston and Singapore scenes in train and val.
MINI_SCENES = (
    ('scene-0103', 'boston-seaport', 'val'),
    ('scene-0916', 'singapore-queenstown', 'val'),
    ('scene-0061', 'singapore-onenorth', 'train'),
    ('scene-0553', 'boston-seaport', 'train'),
    ('scene-1077', 'singapore-hollandvillage', 'train'),
    ('scene-0655', 'boston-seaport', 'train'),
    ('scene-0796', 'singapore-queenstown', 'train'),
    ('scene-0757', 'boston-seaport', 'train'),
    ('scene-1094', 'singapore-hollandvillage', 'train'),
    ('scene-1100', 'singapore-hollandvillage', 'train'),
)
# Locations handed out in turn to trainval scenes (Boston about half).
LOCATION_CYCLE = ('boston-seaport', 'singapore-onenorth', 'boston-seaport',
                  'singapore-queenstown', 'boston-seaport',
                  'singapore-hollandvillage')

KEYFRAME_PERIOD = 0.5  # s, nuScenes annotates at 2 Hz
MAX_EGO_SPEED = 8.0  # m/s

ScenePlan = List[Tuple[str, str, str]]


def plan_scenes(version: str, num_scenes: int) -> ScenePlan:
    """Picks real scene names, their locations and train/val membership.

    Args:
        version (str): 'v1.0-mini' or 'v1.0-trainval'.
        num_scenes (int): how many scenes to make.

    Returns:
        list[tuple]: ``(scene name, location, 'train' | 'val')``, sorted by
        name.
    """
    if version == 'v1.0-mini':
        if not 1 <= num_scenes <= len(MINI_SCENES):
            raise ValueError(f'v1.0-mini has {len(MINI_SCENES)} scenes; '
                             f'num_scenes must be 1..{len(MINI_SCENES)}, got '
                             f'{num_scenes}')
        return sorted(MINI_SCENES[:num_scenes])
    from nuscenes.utils import splits
    if not 1 <= num_scenes <= len(splits.train) + len(splits.val):
        raise ValueError(f'num_scenes must be 1..850 for {version}, got '
                         f'{num_scenes}')
    num_val = 0 if num_scenes == 1 else max(1, round(0.2 * num_scenes))
    if num_scenes >= 4:
        num_val = max(2, num_val)
    num_train = num_scenes - num_val
    plan = [(name, LOCATION_CYCLE[i % len(LOCATION_CYCLE)], 'val')
            for i, name in enumerate(splits.val[:num_val])]
    plan += [(name, LOCATION_CYCLE[i % len(LOCATION_CYCLE)], 'train')
             for i, name in enumerate(splits.train[:num_train])]
    return sorted(plan)


def layout_roads(plan: Sequence[Tuple[str, str, str]], samples: int,
                 seed: int) -> Dict[str, Union[StraightRoad,
                                               List[StraightRoad]]]:
    """One road per scene, laid on a grid of slots per location.

    Scenes beyond a location's capacity share roads, as real logs do.

    Args:
        plan (Sequence[tuple]): from :func:`plan_scenes`.
        samples (int): key frames per scene (the road must outlast the
            ego's drive).
        seed (int): global seed (road headings).

    Returns:
        dict: scene name -> its :class:`StraightRoad`, and location -> the
        list of that map's roads.
    """
    half_length = 80.0 + MAX_EGO_SPEED * KEYFRAME_PERIOD * (samples - 1) / 2
    radius = half_length + 10.0
    pitch = 2 * radius + 20.0
    roads = {}
    for loc_id, location in enumerate(LOCATIONS):
        names = [n for n, loc, _ in plan if loc == location]
        # Every map has at least one road so NuScenesMap always has data.
        count = max(1, len(names))
        width, height = MAP_DIMS[location]
        cap_x = max(1, int((width - 40) // pitch))
        cap_y = max(1, int((height - 40) // pitch))
        cols = min(cap_x, math.ceil(math.sqrt(count)))
        slots = []
        for slot in range(min(count, cols * cap_y)):
            rng = np.random.default_rng([seed, loc_id, slot])
            centre = (20 + radius + (slot % cols) * pitch,
                      20 + radius + (slot // cols) * pitch)
            slots.append(StraightRoad(centre, rng.uniform(-math.pi, math.pi),
                                      half_length, drives_on_left(location)))
        roads[location] = slots
        for i, name in enumerate(names):
            roads[name] = slots[i % len(slots)]
    return roads
