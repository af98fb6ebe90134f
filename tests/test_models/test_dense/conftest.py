"""Shared helpers of the dense model tests: one CPU thread (much faster on a
loaded 2-core machine for these tiny convolutions) and a synthetic set."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Runs each test with one intra-op thread, then restores the count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def tiny_nyuv2(tmp_path_factory) -> str:
    """Eight train / four val synthetic NYUv2 images of 32x48."""
    from nexusflow.datasets.dense import create_synthetic_nyuv2
    root = tmp_path_factory.mktemp('tiny_nyuv2')
    return create_synthetic_nyuv2(str(root), 8, 4, (32, 48), seed=2)
