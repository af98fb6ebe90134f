"""Fixtures shared by the whole suite."""
import pytest
import torch

from nexusflow.utils.compat import patch_numpy_aliases
from helpers.tools import load_tool as _load_tool

# In-process runs stand in for tools/train.py, which applies the stock
# ObjectSample's np.long shim at start-up (``import nexusflow`` does not).
patch_numpy_aliases()


@pytest.fixture(autouse=True)
def one_thread(request):
    """Runs each test with one intra-op thread (``@pytest.mark.threads(n)``
    asks for n), then restores the count: the suite's models are tiny, and
    on a loaded 2-core machine one thread per process is the fastest."""
    marker = request.node.get_closest_marker('threads')
    threads = torch.get_num_threads()
    torch.set_num_threads(marker.args[0] if marker else 1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def load_tool():
    """``load_tool('deploy.py')``: a tool of ``tools/`` as a module."""
    return _load_tool


@pytest.fixture(scope='module')
def tiny_nyuv2(tmp_path_factory) -> str:
    """Eight train / four val synthetic NYUv2 images of 32x48."""
    from nexusflow.testing import create_synthetic_nyuv2
    root = tmp_path_factory.mktemp('tiny_nyuv2')
    return create_synthetic_nyuv2(str(root), 8, 4, (32, 48), seed=2)


@pytest.fixture(scope='session')
def synthetic_nuscenes(tmp_path_factory) -> str:
    """A tiny synthetic v1.0-mini root in the real devkit format.

    Four scenes of four key frames (one lidar sweep between key frames,
    64x36 camera images): mini_val holds scene-0103 (Boston) and scene-0916
    (Singapore), mini_train scene-0061 (Singapore) and scene-0553 (Boston).
    Built once per session in about a second. Treat it as read-only; use
    ``synthetic_nuscenes_infos`` for the converted info files.
    """
    from nexusflow.testing import create_synthetic_nuscenes
    root = tmp_path_factory.mktemp('synthetic_nuscenes')
    return create_synthetic_nuscenes(
        str(root), version='v1.0-mini', num_scenes=4, samples_per_scene=4,
        sweeps_per_sample=1, image_size=(64, 36), seed=0)


@pytest.fixture(scope='session')
def synthetic_nuscenes_infos(synthetic_nuscenes) -> dict:
    """``synthetic_nuscenes`` converted by ``tools/create_data.py``'s two
    steps, written into the root itself (as the configs expect).

    Returns:
        dict: ``root``, ``version`` and the paths ``train``, ``val``,
        ``dbinfos`` (stock mmdet3d infos) and ``trackmap_train``,
        ``trackmap_val``.
    """
    from nexusflow.converters import create_stock_infos, create_trackmap_infos
    root, version = synthetic_nuscenes, 'v1.0-mini'
    paths = dict(root=root, version=version)
    paths.update(create_stock_infos(root, version, root, max_sweeps=2))
    trackmap = create_trackmap_infos(root, version, root)
    paths.update({f'trackmap_{k}': v for k, v in trackmap.items()})
    return paths


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
