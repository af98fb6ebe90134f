"""Delta_m references of the dense SegNet configs: the partial-label configs
carry the STL values of JTR's supplementary Tab. 11 under the names
DenseMTLMetric gives its metrics (so the metric reports ``delta_m``); the
full and tiny configs carry none."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import nexusflow  # noqa: F401
from mmdet3d.registry import METRICS
from nexusflow.evaluation import delta_m
from nexusflow.evaluation.dense_metric import TASK_METRICS

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', 'dense')
PATHS = sorted(
    glob.glob(osp.join(CONFIGS, 'nyuv2_segnet_*.py')) +
    glob.glob(osp.join(CONFIGS, 'cityscapes_segnet_*.py')))
# The metric each task contributes to JTR's Delta% (Tab. 12).
PAPER_METRIC = dict(semantic='miou', depth='abs_err', normal='mean_angle')


@pytest.fixture(scope='module', autouse=True)
def mmdet3d_scope():
    init_default_scope('mmdet3d')


def random_outputs(tasks, num_classes: int, seed: int = 0) -> list:
    """Two samples of predictions and targets for the given tasks."""
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(2):
        sample = {}
        if 'semantic' in tasks:
            sample['gt_semantic'] = torch.randint(-1, num_classes, (6, 8),
                                                  generator=gen)
            sample['pred_semantic'] = torch.randint(0, num_classes, (6, 8),
                                                    generator=gen)
        if 'depth' in tasks:
            sample['gt_depth'] = torch.rand(1, 6, 8, generator=gen) + 0.1
            sample['pred_depth'] = torch.rand(1, 6, 8, generator=gen)
        if 'normal' in tasks:
            sample['gt_normal'] = torch.randn(3, 6, 8, generator=gen)
            sample['pred_normal'] = torch.randn(3, 6, 8, generator=gen)
        samples.append(sample)
    return samples


def test_all_segnet_configs_are_checked():
    names = {osp.basename(p) for p in PATHS}
    for dataset in ('nyuv2', 'cityscapes'):
        for setting in ('full', 'onelabel', 'onelabel_tiny'):
            assert f'{dataset}_segnet_mtl_{setting}.py' in names
    assert len(PATHS) >= 2 * 6 * 3


@pytest.mark.parametrize('path', PATHS, ids=osp.basename)
def test_reference_keys_are_the_metric_names_and_add_delta_m(path):
    name = osp.basename(path)
    cfg = Config.fromfile(path)
    evaluator = cfg.val_evaluator
    assert cfg.test_evaluator == evaluator
    reference = evaluator.get('reference')
    metric = METRICS.build(evaluator)
    metric.process({}, random_outputs(metric.tasks, metric.num_classes))
    results = metric.compute_metrics(metric.results)
    if name.endswith(('_full.py', '_tiny.py')):
        # full: no SegNet STL in the papers; tiny: the demo compares with
        # its own STL run.
        assert reference is None
        assert 'delta_m' not in results
        return
    setting = cfg.train_dataloader.dataset.label_setting
    assert name.endswith(f'_{setting}.py')
    names = [m for task in metric.tasks for m in TASK_METRICS[task]]
    assert set(reference) <= set(names)
    assert set(reference) == {PAPER_METRIC[t] for t in metric.tasks}
    assert all(value > 0 for value in reference.values())
    assert reference == cfg.stl_reference[setting]
    assert np.isfinite(results['delta_m'])
    assert results['delta_m'] == pytest.approx(delta_m(results, reference))


# JTR's supplementary Tab. 10 (with RandAugment) and the Delta% against STL
# that its Tab. 12 reports for the same rows.
PAPER_ROWS = [
    ('nyuv2', 'onelabel', 'mtl', (22.52, 0.6920, 35.27), -4.100),
    ('nyuv2', 'onelabel', 'mtpsl', (30.40, 0.5926, 31.68), 15.33),
    ('nyuv2', 'onelabel', 'jtr', (31.96, 0.5919, 30.80), 18.52),
    ('nyuv2', 'randomlabels', 'mtl', (31.87, 0.5957, 31.64), 8.216),
    ('nyuv2', 'randomlabels', 'mtpsl', (35.60, 0.5576, 29.70), 16.43),
    ('nyuv2', 'randomlabels', 'jtr', (37.08, 0.5541, 29.44), 18.60),
    ('cityscapes', 'onelabel', 'mtl', (68.35, 0.0178), -17.82),
    ('cityscapes', 'onelabel', 'mtpsl', (72.09, 0.0168), -11.43),
    ('cityscapes', 'onelabel', 'jtr', (72.33, 0.0163), -9.392),
]


@pytest.mark.parametrize('dataset, setting, method, row, expected',
                         PAPER_ROWS)
def test_references_reproduce_the_papers_delta(dataset, setting, method,
                                               row, expected):
    cfg = Config.fromfile(
        osp.join(CONFIGS, f'{dataset}_segnet_{method}_{setting}.py'))
    reference = cfg.val_evaluator.reference
    results = dict(zip(('miou', 'abs_err', 'mean_angle'), row))
    assert delta_m(results, reference) == pytest.approx(expected, abs=0.01)
