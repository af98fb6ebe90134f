"""Fixtures of the UniAD host tests."""
import pytest
from mmengine.config import Config

from helpers.uniad import TINY, load_config


@pytest.fixture(scope='module')
def tiny_cfg() -> Config:
    return load_config(TINY)
