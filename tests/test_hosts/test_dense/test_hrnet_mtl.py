"""HRNetMTL: the HRNet-W18 encoder size, single- and multi-scale outputs,
clear input errors, short training and the hrnet18 configs."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmdet3d.registry import MODELS
from nexusflow.hosts.dense import HRNET_W18, HRNetMTL
from helpers.dense import check_config_wiring, run_tiny_config, train_onelabel

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs',
                   'dense')
# Four branches, one block each: stride 32, so inputs of 64x64.
TINY4 = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK',
                num_blocks=(1, ), num_channels=(8, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC',
                num_blocks=(1, 1), num_channels=(4, 8)),
    stage3=dict(num_modules=1, num_branches=3, block='BASIC',
                num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
    stage4=dict(num_modules=1, num_branches=4, block='BASIC',
                num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)))
TASKS = ('semantic', 'depth', 'normal')


def _conv_bn(cin: int, cout: int, kernel: int) -> int:
    return cin * cout * kernel * kernel + 2 * cout


def hrnet_parameters(extra: dict, in_channels: int = 3) -> int:
    """Parameters of an HRNet without head, counted from its stage settings
    (stem, bottleneck stage, transitions, basic-block branches and the
    fuse layers of every module)."""
    total = _conv_bn(in_channels, 64, 3) + _conv_bn(64, 64, 3)
    planes, width = extra['stage1']['num_channels'][0], 64
    for _ in range(extra['stage1']['num_blocks'][0]):
        total += _conv_bn(width, planes, 1) + _conv_bn(planes, planes, 3) + \
            _conv_bn(planes, 4 * planes, 1)
        if width != 4 * planes:
            total += _conv_bn(width, 4 * planes, 1)
        width = 4 * planes
    widths = [width]
    for name in ('stage2', 'stage3', 'stage4'):
        stage = extra[name]
        new = list(stage['num_channels'])
        for i, channels in enumerate(new):
            if i < len(widths):
                if widths[i] != channels:
                    total += _conv_bn(widths[i], channels, 3)
                continue
            steps = i + 1 - len(widths)
            for step in range(steps):
                out = channels if step == steps - 1 else widths[-1]
                total += _conv_bn(widths[-1], out, 3)
        widths = new
        for _ in range(stage['num_modules']):
            for channels, blocks in zip(widths, stage['num_blocks']):
                total += blocks * 2 * _conv_bn(channels, channels, 3)
            for i, out in enumerate(widths):
                for j, src in enumerate(widths):
                    if j > i:
                        total += _conv_bn(src, out, 1)
                    for step in range(i - j):
                        last = step == i - j - 1
                        total += _conv_bn(src, out if last else src, 3)
    return total


def _tiny(multi_scale: bool = False) -> HRNetMTL:
    return HRNetMTL(
        TASKS, channels=6, multi_scale=multi_scale,
        encoder=dict(type='mmdet.HRNet', extra=TINY4, norm_eval=False))


def test_w18_encoder_has_the_published_size():
    """HRNetV2-W18 without head: 9.56 M parameters (published ~9.6 M)."""
    model = HRNetMTL(['depth'])
    built = sum(p.numel() for p in model.encoder.parameters())
    assert built == hrnet_parameters(HRNET_W18)
    assert abs(built / 9.6e6 - 1) < 0.02
    assert model.scale_channels == (18, 36, 72, 144)
    assert model.stride == 32 and model.out_channels == 64
    assert not model.encoder.norm_eval
    # The counter is not tied to W18: it matches another layout too.
    tiny = _tiny()
    assert sum(p.numel() for p in tiny.encoder.parameters()) == \
        hrnet_parameters(TINY4)


def test_single_scale_gives_per_task_features_at_input_size():
    torch.manual_seed(0)
    model = _tiny()
    feats = model(torch.randn(2, 3, 64, 96))
    assert list(feats) == list(TASKS)
    for feat in feats.values():
        assert feat.shape == (2, 6, 64, 96)
    # Each task fuses the scales with its own block.
    assert not torch.allclose(feats['semantic'], feats['depth'])


def test_multi_scale_returns_the_shared_scales():
    torch.manual_seed(0)
    model = _tiny(multi_scale=True)
    assert model.out_channels == (4, 8, 16, 32)
    assert not hasattr(model, 'fusion')
    feats = model(torch.randn(1, 3, 64, 96))
    shapes = [tuple(f.shape) for f in feats['depth']]
    assert shapes == [(1, 4, 16, 24), (1, 8, 8, 12), (1, 16, 4, 6),
                      (1, 32, 2, 3)]
    for task in TASKS:
        assert all(a is b for a, b in zip(feats[task], feats['depth']))


def test_bad_inputs_raise_clear_errors():
    model = _tiny()
    with pytest.raises(ValueError, match=r'\(32, 48\) must be divisible by '
                       r'32'):
        model(torch.randn(1, 3, 32, 48))
    with pytest.raises(ValueError, match='needs the HRNet `extra`'):
        HRNetMTL(TASKS, encoder=dict(type='mmdet.HRNet'))
    with pytest.raises(ValueError, match='multi-scale refiner'):
        MODELS.build(dict(
            type='DenseMTLModel', tasks=dict(depth=dict(), normal=dict()),
            backbone=dict(type='HRNetMTL', multi_scale=True,
                          encoder=dict(type='mmdet.HRNet', extra=TINY4))))


@pytest.mark.slow
def test_training_on_onelabel_improves_every_task(tiny_nyuv2):
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'nyuv2_hrnet18_mtl_onelabel_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    before, after = train_onelabel(model, tiny_nyuv2, steps=30)
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)


@pytest.mark.parametrize('method', ['mtl', 'ctal-ms'])
@pytest.mark.slow
def test_tiny_configs_train_and_evaluate_with_runner(method, tiny_nyuv2,
                                                     tmp_path):
    path = osp.join(CONFIGS, f'nyuv2_hrnet18_{method}_onelabel_tiny.py')
    assert Config.fromfile(path).model.backbone.encoder.init_cfg is None
    metrics = run_tiny_config(path, tiny_nyuv2, str(tmp_path))
    assert 0 <= metrics['dense/miou'] <= 100
    assert 0 <= metrics['dense/mean_angle'] < 180
    assert metrics['dense/abs_err'] >= 0


def test_hrnet18_configs_match_the_backbone_width():
    paths = sorted(glob.glob(osp.join(CONFIGS, '*_hrnet18_*.py')))
    methods = ('stl', 'mtl', 'mtpsl', 'jtr', 'ctal-ss', 'ctal-ms',
               'nexusflow')
    nyuv2 = [p for p in paths if osp.basename(p).startswith('nyuv2_')]
    # full / onelabel / randomlabels per method + mtl and ctal-ms tiny twins
    assert len(nyuv2) == 3 * len(methods) + 2
    for path in paths:
        cfg = Config.fromfile(path)
        backbone = cfg.model.backbone
        assert backbone.type == 'HRNetMTL', path
        tiny = path.endswith('_tiny.py')
        assert (backbone.encoder.init_cfg is None) == tiny, path
        if not tiny:
            assert backbone.encoder.extra == Config(
                dict(extra=HRNET_W18)).extra, path
        check_config_wiring(cfg, path)
        assert backbone.multi_scale == ('_ctal-ms_' in path), path
