"""Objects cover every tracking class and move at constant velocity."""
import numpy as np

from nexusflow.structures import TRACKING_CLASSES
from helpers.nuscenes import chain


def test_objects_move_consistently(nusc):
    from nuscenes.eval.tracking.utils import category_to_tracking_name
    names, static, moving = set(), 0, 0
    for instance in nusc.instance:
        anns = chain(nusc, 'sample_annotation',
                     instance['first_annotation_token'])
        category = nusc.get('category', instance['category_token'])['name']
        names.add(category_to_tracking_name(category))
        speeds = [np.linalg.norm(nusc.box_velocity(a['token'])[:2])
                  for a in anns]
        if len(anns) > 1 and max(speeds) < 1e-6:
            static += 1
        elif len(anns) > 1 and min(speeds) > 0.5:
            moving += 1
            # Constant velocity: centered differences agree along the track.
            assert np.ptp(speeds) < 0.5
    assert names - {None} == set(TRACKING_CLASSES)
    assert static >= 1 and moving >= 10
