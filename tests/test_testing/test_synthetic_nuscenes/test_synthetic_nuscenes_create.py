"""create_synthetic_nuscenes is deterministic and checks its arguments."""
import filecmp
import os
import os.path as osp

import pytest

from nexusflow.testing import create_synthetic_nuscenes
from helpers.nuscenes import VERSION


def tiny(path, seed):
    return create_synthetic_nuscenes(str(path), num_scenes=2,
                                     samples_per_scene=2,
                                     sweeps_per_sample=0, image_size=(16, 16),
                                     seed=seed)


def test_deterministic_for_a_seed(tmp_path):
    a, b, c = tiny(tmp_path / 'a', 3), tiny(tmp_path / 'b', 3), tiny(
        tmp_path / 'c', 4)
    tables = sorted(os.listdir(osp.join(a, VERSION)))
    match, mismatch, errors = filecmp.cmpfiles(
        osp.join(a, VERSION), osp.join(b, VERSION), tables, shallow=False)
    assert not mismatch and not errors
    lidar = sorted(os.listdir(osp.join(a, 'samples', 'LIDAR_TOP')))
    assert filecmp.cmp(osp.join(a, 'samples', 'LIDAR_TOP', lidar[0]),
                       osp.join(b, 'samples', 'LIDAR_TOP', lidar[0]),
                       shallow=False)
    assert not filecmp.cmp(osp.join(a, VERSION, 'sample_annotation.json'),
                           osp.join(c, VERSION, 'sample_annotation.json'),
                           shallow=False)


@pytest.mark.parametrize('kwargs, message', [
    (dict(version='v2.0'), 'version must be one of'),
    (dict(num_scenes=11), 'num_scenes must be 1..10'),
    (dict(samples_per_scene=1), 'samples_per_scene must be >= 2'),
    (dict(image_size=(8, 8)), 'image_size must be at least'),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_synthetic_nuscenes(str(tmp_path), **kwargs)
