"""Official UniAD ``seg_head.*`` keys -> UniADPanopticMapHead: a synthetic
state dict laid out exactly like the official stage-1 manifest (every
seg-head key, shape and dtype), converted and loaded strictly into the
full-size head."""
import json
import os.path as osp

import pytest
import torch

import nexusflow  # noqa: F401
from mmdet3d.registry import MODELS
from nexusflow.converters.uniad_seg_keys import (convert_seg_head_state_dict,
                                                 drop_reason, seg_head_key)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MANIFEST = osp.join(REPO, 'tests', 'data', 'uniad_stage1_manifest.json')


@pytest.fixture(scope='module')
def official():
    """Random tensors under every official ``seg_head.`` key (plus one key
    of another head, which the converter must ignore)."""
    with open(MANIFEST) as f:
        info = json.load(f)
    gen = torch.Generator().manual_seed(0)
    state = {
        key: torch.randn(shape, generator=gen).to(
            getattr(torch, info['state_dict_dtypes'][key]))
        for key, shape in info['state_dict'].items()
        if key.startswith('seg_head.')
    }
    assert len(state) == 578
    state['pts_bbox_head.cls_branches.0.0.weight'] = torch.zeros(2)
    return state


def test_every_official_key_is_mapped_or_dropped_and_loads(official):
    mapped, dropped = convert_seg_head_state_dict(official)
    assert len(mapped) + len(dropped) == 578
    assert len(dropped) == 1 + 24 + 8
    assert all(drop_reason(k) for k in dropped)
    assert {k.split('.')[1] for k in dropped} == {
        'bev_embedding', 'reg_branches2', 'cls_thing_branches'}
    head = MODELS.build(dict(type='UniADPanopticMapHead'))
    ours = head.state_dict()
    assert sorted(mapped) == sorted(ours)
    assert all(mapped[k].shape == ours[k].shape for k in ours)
    head.load_state_dict(mapped, strict=True)
    loaded = head.state_dict()
    for key, value in official.items():
        if key.startswith('seg_head.') and not drop_reason(key):
            assert torch.equal(loaded[seg_head_key(key)], value), key


def test_key_rules_and_prefix():
    assert seg_head_key(
        'seg_head.stuff_mask_head.blocks.5.self_attention.qkv.weight',
        'map_head.') == \
        'map_head.stuff_decoder.layers.5.self_attn.attn.in_proj_weight'
    assert seg_head_key('seg_head.things_mask_head.attnen.linear_l1.0.bias') \
        == 'thing_decoder.final_attn.head_mix.0.bias'
    assert seg_head_key('seg_head.things_mask_head.blocks.3.mlp.fc2.weight') \
        == 'thing_decoder.layers.3.ffn.layers.1.weight'
    assert seg_head_key(
        'seg_head.transformer.decoder.layers.4.attentions.1.'
        'sampling_offsets.bias') == \
        'transformer.decoder.layers.4.cross_attn.sampling_offsets.bias'
    assert seg_head_key(
        'seg_head.transformer.encoder.layers.2.norms.1.weight') == \
        'transformer.encoder.layers.2.norms.1.weight'
    with pytest.raises(KeyError, match='no rule for the official key'):
        seg_head_key('seg_head.bev_embedding.weight')
    with pytest.raises(KeyError, match='1 seg_head keys have no rule'):
        convert_seg_head_state_dict(
            {'seg_head.transformer.encoder.layers.0.attentions.1.x': 0})
    # Shapes (or anything) pass through for a dry run.
    mapped, dropped = convert_seg_head_state_dict(
        {'seg_head.query_embedding.weight': (300, 512),
         'seg_head.reg_branches2.0.0.weight': (256, 256)}, 'map_head.')
    assert mapped == {'map_head.query_embedding.weight': (300, 512)}
    assert dropped == ['seg_head.reg_branches2.0.0.weight']
