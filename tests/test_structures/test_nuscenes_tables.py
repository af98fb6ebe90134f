"""LocationIndex agrees with the devkit's own sample -> scene -> log walk."""
import json
import os.path as osp

import pytest

from nexusflow.structures import LocationIndex


def load(root, name):
    with open(osp.join(root, 'v1.0-mini', f'{name}.json')) as f:
        return json.load(f)


def test_locations_of_every_sample_and_scene(synthetic_nuscenes):
    from nuscenes import NuScenes
    nusc = NuScenes('v1.0-mini', synthetic_nuscenes, verbose=False)
    index = LocationIndex.from_records(
        *(load(synthetic_nuscenes, n) for n in ('log', 'scene', 'sample')))
    for sample in nusc.sample:
        scene = nusc.get('scene', sample['scene_token'])
        location = nusc.get('log', scene['log_token'])['location']
        assert index.by_sample[sample['token']] == location
        assert index.by_scene[scene['token']] == location
        assert index.by_scene_name[scene['name']] == location
    # The devkit's records work as well as the json rows.
    assert LocationIndex.from_records(
        nusc.log, nusc.scene).by_scene == index.by_scene


def test_samples_are_optional_and_dangling_links_fail():
    logs = [dict(token='l', location='boston-seaport')]
    scenes = [dict(token='s', name='scene-0001', log_token='l')]
    index = LocationIndex.from_records(logs, scenes)
    assert index.by_scene_name == {'scene-0001': 'boston-seaport'}
    assert index.by_sample == {}
    with pytest.raises(KeyError):
        LocationIndex.from_records(logs, scenes,
                                   [dict(token='x', scene_token='t')])
