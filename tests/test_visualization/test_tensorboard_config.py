"""The shipped configs log to TensorBoard through mmengine's
TensorboardVisBackend exactly when tensorboard is importable."""
import os.path as osp
import sys

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = ['configs/nexusflow/uniad_domainsplit_tiny.py',
           'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py']


def backends(config: str) -> list:
    cfg = Config.fromfile(osp.join(REPO, config))
    return [b['type'] for b in cfg.visualizer.vis_backends]


@pytest.mark.parametrize('config', CONFIGS)
def test_tensorboard_backend_follows_the_installed_package(
        config, tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m.split('.')[0] == 'tensorboard']:
        monkeypatch.delitem(sys.modules, name)
    installed = __import__('importlib.util').util.find_spec('tensorboard')
    expected = ['LocalVisBackend'] + (['TensorboardVisBackend']
                                      if installed else [])
    assert backends(config) == expected
    if installed:
        return
    # A tensorboard package on the path turns the backend on.
    (tmp_path / 'tensorboard').mkdir()
    (tmp_path / 'tensorboard' / '__init__.py').write_text('')
    monkeypatch.syspath_prepend(str(tmp_path))
    assert backends(config) == ['LocalVisBackend', 'TensorboardVisBackend']
