"""Short training on synthetic NYUv2 (onelabel) improves every task, for
each method; the tiny configs run end to end through the Runner."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner

from mmdet3d.registry import MODELS
from nexusflow.datasets.dense import NYUv2MTLDataset

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs',
                   'dense')
METHODS = ('stl', 'mtl', 'nexusflow', 'jtr')


def _task_losses(model, batch):
    """Supervised loss per task on fully labeled data, eval mode."""
    model.eval()
    with torch.no_grad():
        losses = model.loss(torch.stack(batch['inputs']),
                            batch['data_samples'])
    model.train()
    return {t: float(losses[f'loss_{t}']) for t in model.tasks}


@pytest.mark.parametrize('method', METHODS)
def test_training_on_onelabel_improves_every_task(method, tiny_nyuv2):
    cfg = Config.fromfile(
        osp.join(CONFIGS, f'nyuv2_segnet_{method}_onelabel_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    train = NYUv2MTLDataset(data_root=tiny_nyuv2, label_setting='onelabel')
    assert (train.label_mask.sum(axis=1) == 1).all()
    full = NYUv2MTLDataset(data_root=tiny_nyuv2)
    full_batch = pseudo_collate([full[i] for i in range(len(full))])
    before = _task_losses(model, full_batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(40):
        index = torch.randperm(len(train), generator=gen)[:4].tolist()
        batch = pseudo_collate([train[i] for i in index])
        losses = model.loss(torch.stack(batch['inputs']),
                            batch['data_samples'])
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = _task_losses(model, full_batch)
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)


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
    # full, onelabel, randomlabels and a tiny twin per method
    methods = METHODS + ('mtpsl', 'ctal-ss')
    assert len(paths) == 4 * len(methods)
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
