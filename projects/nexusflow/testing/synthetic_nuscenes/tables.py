"""The devkit's json tables of the synthetic set, filled record by record,
and the records that do not depend on the simulation (taxonomy, sensors,
logs)."""
import json
import os
import os.path as osp
from datetime import datetime, timezone
from typing import Dict, List, Tuple

from ...structures.nuscenes_meta import CAMERAS, TABLES
from .map_expansion import make_token

CATEGORIES = (
    'animal', 'human.pedestrian.adult', 'human.pedestrian.child',
    'human.pedestrian.construction_worker',
    'human.pedestrian.personal_mobility', 'human.pedestrian.police_officer',
    'human.pedestrian.stroller', 'human.pedestrian.wheelchair',
    'movable_object.barrier', 'movable_object.debris',
    'movable_object.pushable_pullable', 'movable_object.trafficcone',
    'static_object.bicycle_rack', 'vehicle.bicycle', 'vehicle.bus.bendy',
    'vehicle.bus.rigid', 'vehicle.car', 'vehicle.construction',
    'vehicle.emergency.ambulance', 'vehicle.emergency.police',
    'vehicle.motorcycle', 'vehicle.trailer', 'vehicle.truck')
ATTRIBUTES = ('vehicle.moving', 'vehicle.stopped', 'vehicle.parked',
              'cycle.with_rider', 'cycle.without_rider',
              'pedestrian.sitting_lying_down', 'pedestrian.standing',
              'pedestrian.moving')
VISIBILITIES = (('1', 'v0-40'), ('2', 'v40-60'), ('3', 'v60-80'),
                ('4', 'v80-100'))


class Tables:
    """The 13 nuScenes tables, filled record by record."""

    def __init__(self) -> None:
        self.rows: Dict[str, List[dict]] = {name: [] for name in TABLES}

    def add(self, table: str, token: str, **fields) -> str:
        """Appends one record.

        Args:
            table (str): table name.
            token (str): the record's token.
            **fields: the other fields, in the order they are written.

        Returns:
            str: ``token``, so a call can both add and link a record.
        """
        self.rows[table].append(dict(token=token, **fields))
        return token

    @staticmethod
    def link(records: List[dict]) -> None:
        """Fills ``prev`` / ``next`` along a chronological chain.

        Args:
            records (list[dict]): the chain, in time order (edited in
                place; not yet added to a table).
        """
        for i, rec in enumerate(records):
            rec['prev'] = records[i - 1]['token'] if i > 0 else ''
            rec['next'] = records[i + 1]['token'] \
                if i + 1 < len(records) else ''

    def dump(self, table_root: str) -> None:
        """Writes ``<table_root>/<table>.json`` for every table.

        Args:
            table_root (str): the version folder, e.g.
                ``<root>/v1.0-mini``.
        """
        os.makedirs(table_root, exist_ok=True)
        for name, rows in self.rows.items():
            with open(osp.join(table_root, f'{name}.json'), 'w') as f:
                json.dump(rows, f)


def add_static_records(tables: Tables) -> None:
    """Adds the taxonomy (categories, attributes, visibility levels) and
    the sensors, which every scene shares.

    Args:
        tables (Tables): the tables to fill.
    """
    for name in CATEGORIES:
        tables.add('category', make_token('category', name), name=name,
                   description=f'nuScenes category {name}')
    for name in ATTRIBUTES:
        tables.add('attribute', make_token('attribute', name), name=name,
                   description=f'nuScenes attribute {name}')
    for token, level in VISIBILITIES:
        tables.add('visibility', token, level=level,
                   description=f'visibility of the box: {level}')
    tables.add('sensor', make_token('sensor', 'LIDAR_TOP'),
               channel='LIDAR_TOP', modality='lidar')
    for cam in CAMERAS:
        tables.add('sensor', make_token('sensor', cam), channel=cam,
                   modality='camera')


def add_log(tables: Tables, seed: int, name: str,
            location: str) -> Tuple[str, int]:
    """Adds the log of one scene, named and dated like the real logs.

    Args:
        tables (Tables): the tables to fill.
        seed (int): global seed (part of the token).
        name (str): scene name, e.g. ``'scene-0103'``; its number fixes the
            date and time.
        location (str): the log's location.

    Returns:
        tuple[str, int]: the log token and the scene start in microseconds
        (UTC).
    """
    number = int(name.split('-')[-1])
    boston = location.startswith('boston')
    start = datetime(2018, 8 if boston else 7, 1 + number % 28,
                     8 + number % 10, number % 60, tzinfo=timezone.utc)
    offset = '-0400' if boston else '+0800'
    vehicle = 'n008' if boston else 'n015'
    logfile = f'{vehicle}-{start.strftime("%Y-%m-%d-%H-%M-%S")}{offset}'
    token = tables.add('log', make_token(seed, 'log', name), logfile=logfile,
                       vehicle=vehicle, date_captured=start.strftime(
                           '%Y-%m-%d'), location=location)
    return token, int(start.timestamp() * 1e6)
