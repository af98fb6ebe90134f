"""CTALModule: grouped-conv sizes of the paper, chunked == naive diffusion,
exact-zero losses of unlabeled tasks, and a short partial-label training."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet3d.registry import MODELS
from nexusflow.baselines import (CTALModule, interleave_affinities,
                                 task_affinity)
from nexusflow.hosts.dense import DenseMTLModel
from helpers.dense import make_sample, train_onelabel

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                   'dense')
OUTS = dict(semantic=5, depth=1, normal=3)


def test_grouped_convs_at_paper_size():
    """3 tasks at 72x96, f = 3: HW kernels of N x f x f per task, the
    paper's 187K parameters instead of 1.29B for a standard conv."""
    module = CTALModule(OUTS, in_channels=16, size=(72, 96))
    hw = 72 * 96
    for conv in module.group_convs.values():
        assert conv.in_channels == 3 * hw and conv.out_channels == hw
        assert conv.groups == hw
        assert conv.weight.shape == (hw, 3, 3, 3)
        params = sum(p.numel() for p in conv.parameters())
        assert params == 186_624
        assert round(params / 1e3) == 187
        standard = hw * (3 * hw) * 3 * 3
        assert round(standard / 1e9, 2) == 1.29
        assert standard // params == hw


def test_interleave_puts_column_q_of_every_task_in_group_q():
    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(1, 4, 2, 3, generator=gen) for _ in range(2)]
    affinities = [task_affinity(f) for f in feats]
    joint = interleave_affinities(affinities, (2, 3))
    assert joint.shape == (1, 2 * 6, 2, 3)
    for q in range(6):
        for k in range(2):
            expected = affinities[k][0, :, q].view(2, 3)
            assert torch.equal(joint[0, q * 2 + k], expected)
    # Cosine similarities: unit diagonal.
    diag = affinities[0][0].diagonal()
    assert torch.allclose(diag, torch.ones_like(diag), atol=1e-6)


@pytest.mark.parametrize('chunk_size', [1, 7, 64])
def test_efficient_diffusion_matches_naive(chunk_size):
    torch.manual_seed(0)
    module = CTALModule(OUTS, in_channels=8, size=(6, 8),
                        chunk_size=chunk_size)
    feats = [torch.randn(2, 8, 6, 8).relu() for _ in range(3)]
    projs = [torch.randn(2, 8, 6, 8) for _ in range(3)]
    naive = module.diffuse_naive(feats, projs)
    fast = module.diffuse_efficient(feats, projs)
    for a, b in zip(naive, fast):
        assert a.shape == (2, 8, 6, 8)
        assert (a - b).abs().max() <= 1e-5


def test_module_forward_and_gradients_match_between_implementations():
    torch.manual_seed(0)
    module = CTALModule(OUTS, in_channels=8, size=(4, 6), chunk_size=5)
    feats = {t: torch.randn(2, 8, 8, 12, requires_grad=True) for t in OUTS}
    results = []
    for efficient in (False, True):
        module.efficient = efficient
        for feat in feats.values():
            feat.grad = None
        module.zero_grad()
        refined, initial = module(feats)
        sum((v * v).sum() for v in refined.values()).backward()
        results.append((refined, {t: f.grad.clone() for t, f in
                                  feats.items()},
                        module.group_convs['depth'].weight.grad.clone()))
        assert {t: v.shape[1] for t, v in initial.items()} == OUTS
    (ref_a, grad_a, w_a), (ref_b, grad_b, w_b) = results
    for task in OUTS:
        assert ref_a[task].shape == (2, 8, 8, 12)
        assert (ref_a[task] - ref_b[task]).abs().max() <= 1e-5
        assert torch.allclose(grad_a[task], grad_b[task], atol=1e-5)
    assert w_a.abs().sum() > 0
    assert torch.allclose(w_a, w_b, atol=1e-5)


def test_gamma_blends_towards_initial_features():
    torch.manual_seed(0)
    module = CTALModule(OUTS, in_channels=4, size=(3, 4), gamma=0.0)
    feats = {t: torch.randn(1, 4, 3, 4) for t in OUTS}
    refined, _ = module(feats)
    for task in OUTS:
        assert torch.equal(refined[task], module.initial[task](feats[task]))


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match='at least two tasks'):
        CTALModule(dict(depth=1), size=(2, 2))
    module = CTALModule(OUTS, in_channels=4, size=(2, 2))
    with pytest.raises(ValueError, match=r"\['normal'\] missing"):
        module({t: torch.zeros(1, 4, 2, 2) for t in ('semantic', 'depth')})


def test_unlabeled_tasks_get_exact_zero_initial_and_final_losses():
    torch.manual_seed(0)
    model = DenseMTLModel(
        backbone=dict(type='SegNetMTAN', channels=(4, 8)),
        tasks=dict(semantic=dict(num_classes=5), depth=dict(),
                   normal=dict()),
        refiner=dict(type='CTALModule', size=(4, 6), chunk_size=8))
    mask = dict(semantic=True, depth=False, normal=False)
    losses = model.loss(torch.randn(2, 3, 8, 12),
                        [make_sample(mask, seed=1), make_sample(mask, seed=2)])
    for task in ('depth', 'normal'):
        for key in (f'loss_{task}', f'loss_{task}_init'):
            assert losses[key].item() == 0.0 and losses[key].requires_grad
    assert losses['loss_semantic'] > 0 and losses['loss_semantic_init'] > 0
    sum(losses.values()).backward()
    for task in ('depth', 'normal'):
        grad = model.refiner.initial_heads[task].weight.grad
        assert grad is not None and torch.count_nonzero(grad) == 0
    # The labeled task's refinement trains the cross-task grouped convs.
    assert model.refiner.group_convs['semantic'].weight.grad.abs().sum() > 0
    preds = model(torch.randn(1, 3, 8, 12), mode='tensor')
    assert preds['normal'].shape == (1, 3, 8, 12)
    assert torch.allclose(preds['normal'].norm(dim=1),
                          torch.ones(1, 8, 12), atol=1e-5)


@pytest.mark.slow
def test_ctal_training_on_onelabel_improves_every_task(tiny_nyuv2):
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'nyuv2_segnet_ctal-ss_onelabel_tiny.py'))
    assert cfg.model.refiner.gamma == 0.05
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert model.refiner.efficient
    before, after = train_onelabel(model, tiny_nyuv2, steps=30)
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)


@pytest.mark.slow
def test_ctal_tiny_config_trains_and_evaluates_with_runner(tiny_nyuv2,
                                                           tmp_path):
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'nyuv2_segnet_ctal-ss_onelabel_tiny.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = tiny_nyuv2
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'WARNING'
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    assert 0 <= metrics['dense/miou'] <= 100  # percent
    assert 0 <= metrics['dense/mean_angle'] < 180


@pytest.mark.parametrize('method', ['ctal-ss', 'mtpsl'])
def test_configs_parse_and_point_at_shipped_splits(method):
    for setting in ('full', 'onelabel', 'randomlabels'):
        cfg = Config.fromfile(
            osp.join(CONFIGS, f'nyuv2_segnet_{method}_{setting}.py'))
        dataset = cfg.train_dataloader.dataset
        assert dataset.label_setting == setting
        if setting != 'full':
            split = osp.join(CONFIGS, '..', '..', dataset.labels_weights)
            assert osp.isfile(split) and split.endswith(f'{setting}.pth')
        if method == 'mtpsl':
            assert cfg.train_dataloader.batch_size == 2
            assert cfg.model.regularizer.type == 'MTPSLLoss'
            assert cfg.optim_wrapper.optimizer.lr == 1e-4
        else:
            assert cfg.train_dataloader.batch_size == 8
            assert cfg.model.refiner.type == 'CTALModule'
            assert cfg.model.refiner.gamma == 0.05
            assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
            assert cfg.param_scheduler[0].type == 'CosineAnnealingLR'
