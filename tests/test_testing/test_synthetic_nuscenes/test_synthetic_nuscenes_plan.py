"""Scene plans put both cities in train and val, as the real splits do."""
import json
import os.path as osp

from nexusflow.testing.synthetic_nuscenes import plan_scenes
from nexusflow.testing.synthetic_nuscenes.map_expansion import LOCATIONS
from helpers.nuscenes import VERSION


def test_train_and_val_hold_both_cities(nusc, synthetic_nuscenes):
    from nuscenes.utils import splits
    location = {s['name']: nusc.get('log', s['log_token'])['location']
                for s in nusc.scene}
    for official in (splits.mini_train, splits.mini_val):
        cities = {location[n].split('-')[0] for n in official
                  if n in location}
        assert cities == {'boston', 'singapore'}
    with open(osp.join(synthetic_nuscenes, VERSION, 'splits.json')) as f:
        custom = json.load(f)
    assert sorted(custom['val_all']) == sorted(
        n for n in splits.mini_val if n in location)
    for split in ('train', 'val'):
        for city in ('boston', 'singapore'):
            names = custom[f'{split}_{city}']
            assert names and all(location[n].startswith(city)
                                 for n in names)


def test_all_four_locations_with_five_scenes():
    assert {loc for _, loc, _ in plan_scenes(VERSION, 5)} == set(LOCATIONS)
    plan = plan_scenes('v1.0-trainval', 12)
    for split in ('train', 'val'):
        assert {loc.split('-')[0] for _, loc, s in plan if s == split} == {
            'boston', 'singapore'}
