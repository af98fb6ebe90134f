"""The UniAD comparison configs differ from uniad_domainsplit*.py in exactly
the way their names say."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

import nexusflow  # noqa: F401
from mmdet3d.registry import MODELS
from nexusflow.core import PlainMLP, RealNVPFlow

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs', 'nexusflow')
VARIANTS = ('fullsup', 'baseline_domainsplit', 'mtpsl_domainsplit',
            'jtr_domainsplit', 'domainsplit_noinv',
            'domainsplit_4layers', 'domainsplit_8layers',
            'domainsplit_onestage')
PAPER_RULES = dict(map=['boston-seaport'], track=['singapore-*'])


def load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIGS, f'uniad_{name}.py'))


@pytest.mark.parametrize('size', ['', '_tiny'])
@pytest.mark.parametrize('variant', VARIANTS)
def test_variant_changes_only_what_it_names(variant, size):
    cfg, ref = load(variant + size), load('domainsplit' + size)
    rules = cfg.train_dataloader.dataset.rules
    hooks = cfg.custom_hooks
    if variant == 'fullsup':
        assert rules == dict(map=None, track=None)
    else:
        assert rules == PAPER_RULES
    regularizer = dict(mtpsl_domainsplit='MTPSLLoss',
                       jtr_domainsplit='JTRLoss').get(variant)
    assert (cfg.model.get('regularizer') or {}).get('type') == regularizer
    if variant in ('fullsup', 'baseline_domainsplit', 'mtpsl_domainsplit',
                   'jtr_domainsplit'):
        assert cfg.model.neck is None and hooks == []
        return
    ref_hook = ref.custom_hooks[0]
    if variant == 'domainsplit_onestage':
        assert 'begin_epoch' not in hooks[0] and 'begin_iter' not in hooks[0]
    else:
        assert hooks == ref.custom_hooks
    assert hooks[0].align_weight == ref_hook.align_weight
    surrogates = cfg.model.neck.surrogates
    for task in ('track', 'map'):
        layers = surrogates[task].flow.num_layers
        want = {'domainsplit_4layers': 4, 'domainsplit_8layers': 8}
        assert layers == want.get(variant, 6)
        assert surrogates[task].get('invertible', True) == (
            variant != 'domainsplit_noinv')


@pytest.mark.parametrize('variant', ['domainsplit_noinv',
                                     'domainsplit_8layers', 'fullsup'])
def test_tiny_variant_builds(variant):
    init_default_scope('mmdet3d')
    model = MODELS.build(load(variant + '_tiny').model)
    if variant == 'fullsup':
        assert model.neck is None
        return
    for surrogate in model.neck.bank.surrogates.values():
        if variant == 'domainsplit_noinv':
            assert isinstance(surrogate.flow, PlainMLP)
            assert surrogate.flow.num_layers == 6
        else:
            assert isinstance(surrogate.flow, RealNVPFlow)
            assert len(surrogate.flow.layers) == 8


def test_full_size_configs_use_the_panoptic_map_head():
    """Every full-size UniAD config has UniAD's panoptic map head (its
    surrogate pools the decoder's query set); the tiny ones keep the dense
    head, except the panoptic twin."""
    names = sorted(osp.basename(p)[len('uniad_'):-3] for p in glob.glob(
        osp.join(CONFIGS, 'uniad_*.py')))
    assert 'domainsplit_panoptic_tiny' in names and len(names) == 19
    for name in names:
        cfg = load(name)
        head = cfg.model.map_head
        panoptic = not name.endswith('_tiny') or 'panoptic' in name
        assert head.type == ('UniADPanopticMapHead' if panoptic else
                             'BEVMapHead'), name
        if panoptic:
            assert head.embed_dims == cfg.model.bev_encoder.embed_dims
            assert head.canvas_size == (200, 200)
        if cfg.model.neck is not None:
            width = head.embed_dims if panoptic else head.feat_channels
            assert cfg.model.neck.surrogates.map.aggregator.in_channels == \
                width, name
        load_step = [s for s in cfg.train_dataloader.dataset.dataset.pipeline
                     if s.type == 'LoadTrackMapAnnotations']
        assert load_step[0].with_map_instances, name
