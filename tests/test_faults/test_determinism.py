"""The same seed gives bit-identical training losses on CPU: two runs of
the tiny UniAD (track + map + NexusFlow neck) and dense NexusFlow configs,
built the way tools/train.py builds them."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from nexusflow.engine import use_safe_training

pytestmark = pytest.mark.slow  # four short training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
UNIAD = osp.join(REPO, 'configs/nexusflow/uniad_domainsplit_tiny.py')
DENSE = osp.join(REPO, 'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py')


def train_losses(cfg: Config, work_dir: str) -> dict:
    """Trains ``cfg`` with seed 0; every logged loss, per iteration."""
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    use_safe_training(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = runner.message_hub.log_scalars
    return {key: list(buffer.data[0]) for key, buffer in scalars.items()
            if key.startswith('train/') and 'loss' in key}


def assert_identical_runs(make_cfg, tmp_path, iters: int) -> None:
    first, second = (train_losses(make_cfg(), str(tmp_path / name))
                     for name in ('first', 'second'))
    assert len(first['train/loss']) == iters
    assert first == second  # bit-identical floats, every loss key


def test_uniad_tiny_same_seed_same_losses(synthetic_nuscenes_infos,
                                          tmp_path, monkeypatch):
    monkeypatch.setenv('SYNTHETIC_NUSCENES',
                       synthetic_nuscenes_infos['root'].rstrip('/'))

    def make_cfg():
        cfg = Config.fromfile(UNIAD)
        # Iterations 1-2 train the heads, 3 aligns too (stage 2).
        cfg.merge_from_dict({'train_cfg.max_iters': 3,
                             'train_cfg.val_interval': 100,
                             'custom_hooks.0.begin_iter': 2,
                             'custom_hooks.0.warmup_iters': 0})
        return cfg

    assert_identical_runs(make_cfg, tmp_path, 3)


def test_dense_tiny_same_seed_same_losses(tiny_nyuv2, tmp_path):

    def make_cfg():
        cfg = Config.fromfile(DENSE)
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            cfg[loader].dataset.data_root = tiny_nyuv2
        cfg.train_cfg.max_epochs = 1
        cfg.train_cfg.val_interval = 100
        return cfg

    assert_identical_runs(make_cfg, tmp_path, 2)  # 8 images, batches of 4
