"""The map expansion holds every layer the devkit queries around the ego."""
from nexusflow.testing.synthetic_nuscenes.map_expansion import LOCATIONS
from helpers.nuscenes import chain


def test_map_expansion_around_the_ego(nusc, synthetic_nuscenes):
    from nuscenes.map_expansion.map_api import NuScenesMap
    maps = {loc: NuScenesMap(synthetic_nuscenes, loc) for loc in LOCATIONS}
    layers = ['drivable_area', 'road_segment', 'lane', 'road_divider',
              'lane_divider', 'ped_crossing', 'walkway']
    for scene in nusc.scene:
        nmap = maps[nusc.get('log', scene['log_token'])['location']]
        for sample in chain(nusc, 'sample', scene['first_sample_token']):
            lidar = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
            x, y = nusc.get('ego_pose', lidar['ego_pose_token'])[
                'translation'][:2]
            found = nmap.get_records_in_patch(
                (x - 50, y - 50, x + 50, y + 50), layers)
            assert all(found[layer] for layer in layers), found
            # The ego drives in a lane on drivable ground.
            on = nmap.layers_on_point(x, y)
            assert on['lane'] and on['drivable_area'] and on['road_segment']
            assert nmap.get_closest_lane(x, y, radius=3) == on['lane']
