"""CTALMultiScale: per-scale initial predictions, one CTAL after the
cross-scale fusion, exact-zero deep-supervision losses of unlabeled tasks,
short training and the ctal-ms configs."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.models.backbones.resnet import BasicBlock
from mmengine.config import Config

from mmdet3d.registry import MODELS
from nexusflow.baselines import CTALModule, CTALMultiScale
from helpers.dense import make_sample, train_onelabel

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                   'dense')
OUTS = dict(semantic=5, depth=1, normal=3)
WIDTHS = (4, 8, 16)
TINY3 = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                num_blocks=(1, ), num_channels=(4, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                num_blocks=(1, 1), num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                num_blocks=(1, 1, 1), num_channels=WIDTHS),
    stage4=dict(num_modules=1, num_branches=3, block='BASIC',
                num_blocks=(1, 1, 1), num_channels=WIDTHS))


def _scales(batch: int = 2):
    return tuple(
        torch.randn(batch, width, 8 // 2**k, 12 // 2**k)
        for k, width in enumerate(WIDTHS))


def _model(**refiner) -> torch.nn.Module:
    return MODELS.build(dict(
        type='DenseMTLModel',
        tasks=dict(semantic=dict(num_classes=5), depth=dict(),
                   normal=dict()),
        backbone=dict(type='HRNetMTL', multi_scale=True,
                      encoder=dict(type='mmdet.HRNet', extra=TINY3,
                                   norm_eval=False)),
        refiner=dict(dict(type='CTALMultiScale', channels=6, size=(8, 12),
                          chunk_size=16), **refiner)))


def test_initial_predictions_at_every_scale_and_refined_features():
    torch.manual_seed(0)
    module = CTALMultiScale(OUTS, in_channels=WIDTHS, channels=6,
                            size=(8, 12), chunk_size=16)
    scales = _scales()
    refined, initial = module({task: scales for task in OUTS})
    for task, out in OUTS.items():
        assert refined[task].shape == (2, 6, 32, 48)
        assert [tuple(p.shape) for p in initial[task]] == \
            [(2, out, 32, 48)] * 3
    # Two residual blocks per task and scale, one fusion per task.
    for task in OUTS:
        for k, width in enumerate(WIDTHS):
            blocks = list(module.initial[task][k])
            assert len(blocks) == 2
            assert all(isinstance(b, BasicBlock) for b in blocks)
            assert blocks[0].conv1.in_channels == width
        assert module.fusion[task].fuse[0].in_channels == sum(WIDTHS)
    # A single cross-task module, without initial heads of its own.
    ctals = [m for m in module.modules() if isinstance(m, CTALModule)]
    assert len(ctals) == 1 and ctals[0].initial is None
    assert ctals[0].group_convs['depth'].groups == 8 * 12


def test_gamma_zero_passes_the_fused_features_through():
    torch.manual_seed(0)
    module = CTALMultiScale(OUTS, in_channels=WIDTHS, channels=6,
                            size=(8, 12), gamma=0.0).eval()
    scales = _scales(1)
    refined, _ = module({task: scales for task in OUTS})
    decoded = [block(f) for block, f in zip(module.initial['normal'],
                                            scales)]
    fused = module.fusion['normal'](decoded)
    expected = torch.nn.functional.interpolate(
        fused, scale_factor=4, mode='bilinear', align_corners=False)
    assert torch.allclose(refined['normal'], expected, atol=1e-6)


def test_unlabeled_tasks_get_exact_zero_deep_supervision():
    torch.manual_seed(0)
    model = _model()
    mask = dict(semantic=False, depth=True, normal=False)
    samples = [make_sample(mask, size=(32, 48), seed=s) for s in (1, 2)]
    losses = model.loss(torch.randn(2, 3, 32, 48), samples)
    expected = {f'loss_{t}' for t in OUTS} | {
        f'loss_{t}_init_s{k}' for t in OUTS for k in range(3)}
    assert set(losses) == expected
    for task in ('semantic', 'normal'):
        for k in range(3):
            value = losses[f'loss_{task}_init_s{k}']
            assert value.item() == 0.0 and value.requires_grad
    for k in range(3):
        assert losses[f'loss_depth_init_s{k}'] > 0
    sum(losses.values()).backward()
    heads = model.refiner.initial_heads
    for k in range(3):
        assert torch.count_nonzero(heads['normal'][k].weight.grad) == 0
        assert heads['depth'][k].weight.grad.abs().sum() > 0
    # The labeled task's refinement trains the cross-task grouped convs.
    assert model.refiner.ctal.group_convs['depth'].weight.grad.abs().sum() \
        > 0
    preds = model(torch.randn(1, 3, 32, 48), mode='tensor')
    assert preds['semantic'].shape == (1, 5, 32, 48)
    assert torch.allclose(preds['normal'].norm(dim=1),
                          torch.ones(1, 32, 48), atol=1e-5)


def test_bad_combinations_raise_clear_errors():
    with pytest.raises(ValueError, match='at least two encoder scales'):
        CTALMultiScale(OUTS, in_channels=16)
    with pytest.raises(ValueError, match='use CTALMultiScale'):
        CTALModule(OUTS, in_channels=WIDTHS)
    module = CTALMultiScale(OUTS, in_channels=WIDTHS, size=(8, 12))
    with pytest.raises(ValueError, match="task 'depth' needs 3 feature "
                       'scales'):
        module({t: _scales() if t != 'depth' else torch.zeros(1)
                for t in OUTS})
    with pytest.raises(ValueError, match='no neck or regularizer'):
        MODELS.build(dict(
            type='DenseMTLModel', tasks=dict(depth=dict(), normal=dict()),
            backbone=dict(type='HRNetMTL', multi_scale=True,
                          encoder=dict(type='mmdet.HRNet', extra=TINY3)),
            refiner=dict(type='CTALMultiScale', size=(8, 12)),
            regularizer=dict(type='JTRLoss')))


@pytest.mark.slow
def test_ctal_ms_training_on_onelabel_improves_every_task(tiny_nyuv2):
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'nyuv2_hrnet18_ctal-ms_onelabel_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    seen = set()
    before, after = train_onelabel(model, tiny_nyuv2, steps=40,
                                   check=lambda losses: seen.update(losses))
    assert 'loss_normal_init_s2' in seen
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)


def test_ctal_ms_configs_use_the_paper_settings():
    paths = sorted(glob.glob(osp.join(CONFIGS, '*_ctal-ms_*.py')))
    assert [osp.basename(p) for p in paths] == [
        'cityscapes_hrnet18_ctal-ms_onelabel.py',
        'nyuv2_hrnet18_ctal-ms_full.py',
        'nyuv2_hrnet18_ctal-ms_onelabel.py',
        'nyuv2_hrnet18_ctal-ms_onelabel_tiny.py',
        'nyuv2_hrnet18_ctal-ms_randomlabels.py',
    ]
    for path in paths:
        cfg = Config.fromfile(path)
        refiner = cfg.model.refiner
        assert cfg.model.backbone.multi_scale, path
        assert refiner.type == 'CTALMultiScale', path
        assert refiner.gamma == 0.05 and refiner.kernel_size == 3, path
        assert cfg.optim_wrapper.optimizer.type == 'Adam', path
        assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4, path
        if path.endswith('_tiny.py'):
            assert tuple(refiner.size) == (32 // 4, 48 // 4)
            continue
        assert cfg.train_dataloader.batch_size == 8, path
        cityscapes = 'cityscapes' in path
        assert tuple(refiner.size) == ((32, 64) if cityscapes else (72, 96))
        assert cfg.optim_wrapper.optimizer.lr == (5e-4 if cityscapes else
                                                  1e-4), path
        scheduler = cfg.param_scheduler[0].type
        assert scheduler == ('CosineRestartLR' if cityscapes else
                             'CosineAnnealingLR'), path
    # The full model at the paper's size: CTAL's grouped convs at 72x96.
    model = MODELS.build(
        Config.fromfile(osp.join(CONFIGS,
                                 'nyuv2_hrnet18_ctal-ms_full.py')).model)
    assert model.refiner.scale_channels == (18, 36, 72, 144)
    for conv in model.refiner.ctal.group_convs.values():
        assert conv.weight.shape == (72 * 96, 3, 3, 3)
    assert model.heads['depth'][0].in_channels == model.refiner.out_channels
