"""Tiny synthetic dense sets in the MTAN layout, built once per module."""
import pytest


@pytest.fixture(scope='module')
def nyuv2_root(tmp_path_factory) -> str:
    """Six train / two val synthetic NYUv2 images of 24x32."""
    from nexusflow.testing import create_synthetic_nyuv2
    root = tmp_path_factory.mktemp('nyuv2')
    return create_synthetic_nyuv2(str(root), 6, 2, (24, 32), seed=1)


@pytest.fixture(scope='module')
def cityscapes_root(tmp_path_factory) -> str:
    """Five train / two val synthetic Cityscapes images of 16x32."""
    from nexusflow.testing import create_synthetic_cityscapes
    root = tmp_path_factory.mktemp('cityscapes')
    return create_synthetic_cityscapes(str(root), 5, 2, (16, 32), seed=1)
