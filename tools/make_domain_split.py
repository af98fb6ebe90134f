"""Adds per-city and per-location scene lists to a nuScenes root's
``<root>/<version>/splits.json`` (existing entries are kept), so the devkit
can evaluate ``val_all``, ``val_boston``, ``val_singapore``, ... .

Example:
    python tools/make_domain_split.py data/nuscenes v1.0-trainval
"""
import argparse

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.converters import location_scene_splits, update_splits_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='nuScenes data root')
    parser.add_argument('version', help='e.g. v1.0-trainval')
    args = parser.parse_args()
    try:
        entries = location_scene_splits(args.root, args.version)
        path = update_splits_json(args.root, args.version, entries)
    except (ValueError, OSError) as err:
        raise SystemExit(f'error: {err}')
    for name, scenes in sorted(entries.items()):
        print(f'{name:32s} {len(scenes):4d} scenes')
    print(f'updated {path}')


if __name__ == '__main__':
    main()
