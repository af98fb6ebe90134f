"""Short training on synthetic NYUv2 (onelabel) improves every task, for
each method; the tiny configs run end to end through the Runner."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet3d.registry import MODELS
from helpers.dense import train_onelabel

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs',
                   'dense')
METHODS = ('stl', 'mtl', 'nexusflow', 'jtr')


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.slow
def test_training_on_onelabel_improves_every_task(method, tiny_nyuv2):
    cfg = Config.fromfile(
        osp.join(CONFIGS, f'nyuv2_segnet_{method}_onelabel_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    before, after = train_onelabel(model, tiny_nyuv2, steps=40)
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)


@pytest.mark.slow
def test_tiny_config_trains_and_evaluates_with_runner(tiny_nyuv2, tmp_path):
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'nyuv2_segnet_nexusflow_onelabel_tiny.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = tiny_nyuv2
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'WARNING'
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.val_interval = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    for name in ('miou', 'pix_acc', 'abs_err', 'rel_err', 'mean_angle',
                 'median_angle', 'within_11.25'):
        value = metrics[f'dense/{name}']
        assert value == value and value >= 0  # finite, not NaN
    assert metrics['dense/mean_angle'] < 180


def test_every_dense_config_parses_and_points_at_shipped_splits():
    paths = sorted(glob.glob(osp.join(CONFIGS, 'nyuv2_*.py')))
    # SegNet: full, onelabel, randomlabels and a tiny twin per method
    methods = METHODS + ('mtpsl', 'ctal-ss')
    assert len([p for p in paths if '_segnet_' in p]) == 4 * len(methods)
    for method in methods:
        assert osp.join(CONFIGS, f'nyuv2_segnet_{method}_onelabel_tiny.py') \
            in paths
    for path in paths:
        cfg = Config.fromfile(path)
        dataset = cfg.train_dataloader.dataset
        setting = dataset.label_setting
        assert setting in ('full', 'onelabel', 'randomlabels'), path
        if dataset.get('labels_weights'):
            split = osp.join(CONFIGS, '..', '..', dataset.labels_weights)
            assert osp.isfile(split), path
            assert osp.basename(split) == f'{setting}.pth'
        assert cfg.model.type == 'DenseMTLModel'
