"""Cityscapes SegNet configs: the papers' schedules, 7 classes (19 by
overriding num_classes), onelabel from the shipped split, no randomlabels,
and tiny twins that train on the synthetic set."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import nexusflow  # noqa: F401
from mmdet3d.registry import DATASETS, METRICS, MODELS
from nexusflow.datasets.dense import load_label_weights
from nexusflow.evaluation import delta_m
from nexusflow.testing import create_synthetic_cityscapes

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'dense')
METHODS = ('stl', 'mtl', 'mtpsl', 'jtr', 'ctal-ss', 'nexusflow')
# (batch, Adam lr, weight decay) of each method's paper.
SCHEDULES = {
    'stl': (8, 1e-4, None), 'mtl': (8, 1e-4, None),
    'nexusflow': (8, 1e-4, None), 'mtpsl': (2, 1e-4, None),
    'jtr': (16, 1e-4, None), 'ctal-ss': (8, 5e-4, 1e-4)
}
AUGMENTATIONS = ['DenseRandomScaleCrop', 'DenseRandAugment']


def load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, f'cityscapes_segnet_{name}.py'))


@pytest.fixture(scope='module', autouse=True)
def mmdet3d_scope():
    init_default_scope('mmdet3d')


@pytest.fixture(scope='module')
def tiny_cityscapes(tmp_path_factory) -> str:
    """Eight train / four val synthetic Cityscapes images of 32x64, with
    inverse depth like the MTAN files (lorenmt/mtan#15 and #25)."""
    root = create_synthetic_cityscapes(
        str(tmp_path_factory.mktemp('tiny_cityscapes')), 8, 4, (32, 64),
        seed=2)
    depth = np.load(osp.join(root, 'train', 'depth', '0.npy'))
    assert 0 < depth.max() <= 1.0
    return root


def test_every_method_has_full_onelabel_and_tiny_but_no_randomlabels():
    names = {osp.basename(p)
             for p in glob.glob(osp.join(CONFIGS, 'cityscapes_segnet_*.py'))}
    assert names == {f'cityscapes_segnet_{method}_{setting}.py'
                     for method in METHODS
                     for setting in ('full', 'onelabel', 'onelabel_tiny')}


@pytest.mark.parametrize('method', METHODS)
def test_configs_follow_the_papers_schedules_with_seven_classes(method):
    full, onelabel = load(f'{method}_full'), load(f'{method}_onelabel')
    batch, lr, weight_decay = SCHEDULES[method]
    for cfg in (full, onelabel):
        assert cfg.train_dataloader.batch_size == batch
        assert cfg.optim_wrapper.optimizer.type == 'Adam'
        assert cfg.optim_wrapper.optimizer.lr == lr
        assert cfg.optim_wrapper.optimizer.get('weight_decay') == \
            weight_decay
        classes = {cfg.model.tasks.semantic.num_classes,
                   cfg.train_dataloader.dataset.num_classes,
                   cfg.val_dataloader.dataset.num_classes,
                   cfg.test_dataloader.dataset.num_classes,
                   cfg.val_evaluator.num_classes}
        assert classes == {7}
        assert list(cfg.model.tasks) == ['semantic', 'depth']
        assert cfg.val_evaluator.tasks == ['semantic', 'depth']
        types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
        assert (types[1:3] == AUGMENTATIONS) == (method == 'jtr')
    if method == 'ctal-ss':
        schedule, = full.param_scheduler
        assert schedule.type == 'CosineAnnealingLR'
        assert schedule.T_max == schedule.end == full.train_cfg.max_epochs \
            == 75
        # 1/4 of 128x256
        assert tuple(full.model.refiner.size) == (32, 64)
    assert full.train_dataloader.dataset.label_setting == 'full'
    dataset = onelabel.train_dataloader.dataset
    assert dataset.label_setting == 'onelabel'
    mask = load_label_weights(osp.join(REPO, dataset.labels_weights), 2975,
                              2)
    assert (mask.sum(axis=1) == 1).all()


def test_nineteen_classes_by_overriding_num_classes(tiny_cityscapes,
                                                    tmp_path):
    """The switch the header of cityscapes_segnet_mtl_full.py describes."""
    path = tmp_path / 'cityscapes_19.py'
    path.write_text(
        f"_base_ = '{CONFIGS}/cityscapes_segnet_mtl_onelabel_tiny.py'\n"
        "model = dict(tasks=dict(semantic=dict(num_classes=19)))\n"
        "train_dataloader = dict(dataset=dict(num_classes=19))\n"
        "val_dataloader = dict(dataset=dict(num_classes=19))\n"
        "test_dataloader = val_dataloader\n"
        "val_evaluator = dict(num_classes=19)\n"
        "test_evaluator = val_evaluator\n")
    cfg = Config.fromfile(str(path))
    dataset = DATASETS.build(dict(cfg.val_dataloader.dataset,
                                  data_root=tiny_cityscapes))
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    labels = torch.cat([s.gt_semantic.flatten()
                        for s in batch['data_samples']])
    assert labels.max() >= 7  # label_19 is read
    model = MODELS.build(cfg.model)
    logits = model(torch.stack(batch['inputs']))['semantic']
    assert logits.shape[1] == 19
    metric = METRICS.build(cfg.val_evaluator)
    outputs = model.predict(torch.stack(batch['inputs']),
                            batch['data_samples'])
    metric.process({}, [sample.to_dict() for sample in outputs])
    assert 0 <= metric.compute_metrics(metric.results)['miou'] <= 100


def task_losses(model, batch) -> dict:
    """Supervised loss per task in eval mode, without gradients."""
    model.eval()
    with torch.no_grad():
        losses = model.loss(torch.stack(batch['inputs']),
                            batch['data_samples'])
    model.train()
    return {t: float(losses[f'loss_{t}']) for t in model.tasks}


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.slow
def test_tiny_twin_training_improves_every_task(method, tiny_cityscapes):
    cfg = load(f'{method}_onelabel_tiny')
    train = DATASETS.build(dict(cfg.train_dataloader.dataset,
                                data_root=tiny_cityscapes))
    assert (train.label_mask.sum(axis=1) == 1).all()
    full = DATASETS.build(dict(cfg.val_dataloader.dataset,
                               data_root=tiny_cityscapes, split='train'))
    full_batch = pseudo_collate([full[i] for i in range(len(full))])
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    before = task_losses(model, full_batch)
    optimizer = torch.optim.Adam(model.parameters(),
                                 lr=cfg.optim_wrapper.optimizer.lr)
    gen = torch.Generator().manual_seed(0)
    for _ in range(30):
        index = torch.randperm(len(train), generator=gen)[:4].tolist()
        batch = pseudo_collate([train[i] for i in index])
        losses = model.loss(torch.stack(batch['inputs']),
                            batch['data_samples'])
        optimizer.zero_grad()
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        optimizer.step()
    after = task_losses(model, full_batch)
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)


@pytest.mark.slow
def test_jtr_tiny_twin_runs_through_the_runner_with_delta_m(
        tiny_cityscapes, tmp_path):
    """JTR's augmentations in the Runner's loader; with the onelabel STL
    reference the test metrics include delta_m."""
    cfg = load('jtr_onelabel_tiny')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = tiny_cityscapes
    reference = load('jtr_onelabel').val_evaluator.reference
    cfg.val_evaluator.reference = reference
    cfg.test_evaluator.reference = reference
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.val_interval = 2
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    results = {k.split('/')[-1]: v for k, v in metrics.items()}
    assert 0 <= results['miou'] <= 100 and results['abs_err'] > 0
    assert results['delta_m'] == pytest.approx(delta_m(results, reference))
