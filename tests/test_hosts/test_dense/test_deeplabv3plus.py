"""DeepLabV3PlusMTL: dilated encoder strides, per-task decoders, the
ResNet-50 size, short training and the deeplabv3plus configs."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmdet3d.registry import MODELS
from nexusflow.hosts.dense import DeepLabV3PlusMTL
from helpers.dense import check_config_wiring, run_tiny_config, train_onelabel

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs',
                   'dense')
TASKS = ('semantic', 'depth', 'normal')
TINY = dict(type='mmdet.ResNet', depth=18, base_channels=4, norm_eval=False)


@pytest.mark.parametrize('output_stride', [8, 16])
def test_encoder_strides_and_task_features(output_stride):
    torch.manual_seed(0)
    model = DeepLabV3PlusMTL(TASKS, encoder=TINY, channels=6,
                             low_level_channels=3,
                             output_stride=output_stride)
    # An input size that no stride divides: everything is resized by size.
    x = torch.randn(2, 3, 36, 52)
    low, high = model.encoder(x)
    assert low.shape == (2, 4, 9, 13)
    assert high.shape[1] == 32
    assert high.shape[-2:] == (-(-36 // output_stride),
                               -(-52 // output_stride))
    feats = model(x)
    assert list(feats) == list(TASKS)
    for feat in feats.values():
        assert feat.shape == (2, 6, 36, 52)
    assert model.out_channels == 6
    rates = [b[0].dilation[0] for b in model.decoders['depth'].aspp.branches
             if b[0].kernel_size == (3, 3)]
    assert rates == ([12, 24, 36] if output_stride == 8 else [6, 12, 18])


def test_each_task_trains_its_own_decoder_and_the_shared_encoder():
    torch.manual_seed(0)
    model = DeepLabV3PlusMTL(TASKS, encoder=TINY, channels=6,
                             low_level_channels=3)
    model(torch.randn(2, 3, 32, 48))['depth'].square().mean().backward()
    for task in TASKS:
        grads = [p.grad for p in model.decoders[task].parameters()]
        touched = any(g is not None and g.abs().sum() > 0 for g in grads)
        assert touched == (task == 'depth'), task
    assert model.encoder.conv1.weight.grad.abs().sum() > 0


def test_resnet50_encoder_has_the_published_size():
    """ResNet-50 without its 1000-way fc: 25,557,032 - 2,049,000."""
    model = DeepLabV3PlusMTL(['depth'])
    encoder = sum(p.numel() for p in model.encoder.parameters())
    assert encoder == 25_557_032 - (2048 * 1000 + 1000)
    assert model.output_stride == 16 and model.out_channels == 256
    assert model.decoders['depth'].aspp.branches[0][0].in_channels == 2048
    assert model.decoders['depth'].low_level[0].in_channels == 256
    assert not model.encoder.norm_eval


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match='output_stride must be one of'):
        DeepLabV3PlusMTL(TASKS, encoder=TINY, output_stride=32)
    with pytest.raises(ValueError, match='tasks must not be empty'):
        DeepLabV3PlusMTL([], encoder=TINY)


@pytest.mark.slow
def test_training_on_onelabel_improves_every_task(tiny_nyuv2):
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'nyuv2_deeplabv3plus_mtl_onelabel_tiny.py'))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    before, after = train_onelabel(model, tiny_nyuv2, steps=30)
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)


@pytest.mark.slow
def test_tiny_config_trains_and_evaluates_with_runner(tiny_nyuv2, tmp_path):
    path = osp.join(CONFIGS, 'nyuv2_deeplabv3plus_mtl_onelabel_tiny.py')
    cfg = Config.fromfile(path)
    assert cfg.model.backbone.encoder.init_cfg is None  # no download
    assert cfg.model.data_preprocessor.type == 'ImgDataPreprocessor'
    metrics = run_tiny_config(path, tiny_nyuv2, str(tmp_path))
    assert 0 <= metrics['dense/miou'] <= 100
    assert 0 <= metrics['dense/mean_angle'] < 180
    assert metrics['dense/abs_err'] >= 0


def test_deeplabv3plus_configs_match_the_backbone_width():
    paths = sorted(glob.glob(osp.join(CONFIGS, '*_deeplabv3plus_*.py')))
    methods = ('stl', 'mtl', 'mtpsl', 'jtr', 'ctal-ss', 'nexusflow')
    nyuv2 = [p for p in paths if osp.basename(p).startswith('nyuv2_')]
    # full / onelabel / randomlabels per method + the mtl tiny twin; no
    # ctal-ms (single-scale encoder)
    assert len(nyuv2) == 3 * len(methods) + 1
    assert not [p for p in paths if '_ctal-ms_' in p]
    for path in paths:
        cfg = Config.fromfile(path)
        backbone = cfg.model.backbone
        assert backbone.type == 'DeepLabV3PlusMTL', path
        tiny = path.endswith('_tiny.py')
        if tiny:
            assert backbone.encoder.init_cfg is None
        else:
            assert backbone.encoder.depth == 50, path
            assert backbone.encoder.init_cfg.checkpoint.endswith(
                'resnet50-0676ba61.pth'), path
        check_config_wiring(cfg, path)
