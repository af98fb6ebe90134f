"""The suite's synthetic v1.0-mini set, loaded once by the devkit."""
import pytest

from helpers.nuscenes import VERSION


@pytest.fixture(scope='session')
def nusc(synthetic_nuscenes):
    from nuscenes import NuScenes
    return NuScenes(VERSION, synthetic_nuscenes, verbose=False)
