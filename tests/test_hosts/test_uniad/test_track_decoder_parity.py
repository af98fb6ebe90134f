"""UniADTrackDecoder against UniAD's official track decoder: the shared
reference case (official code run on CPU, float32) and the official stage-1
key manifest."""
import json
import math
import os.path as osp

import pytest
import torch
from torch.testing import assert_close

import nexusflow  # noqa: F401
from mmdet3d.registry import MODELS
from mmdet3d.structures import LiDARInstance3DBoxes
from nexusflow.converters.uniad_track_keys import (
    convert_track_decoder_state_dict, map_track_decoder_keys,
    track_decoder_key)
from nexusflow.hosts.uniad import encode_boxes
from nexusflow.hosts.uniad.box_coder import uniad_codes_to_lidar
from helpers.uniad_cases import load_case

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
REFERENCE = osp.join(osp.dirname(REPO), 'shared', 'reference')
MANIFESTS = (osp.join(REPO, 'tests', 'data', 'uniad_stage1_manifest.json'),
             osp.join(REFERENCE, 'uniad_stage1_manifest.json'))
# The case's README: rtol = atol = 1e-4, atol 1e-3 on the metric boxes.
TOLERANCE = dict(all_cls_scores=1e-4, all_bbox_preds=1e-3,
                 all_past_traj_preds=1e-4, last_ref_points=1e-4,
                 query_feats=1e-4)
# Official stage-1 submodules the track decoder holds.
DECODER_PARTS = ('pts_bbox_head.transformer.decoder',
                 'pts_bbox_head.cls_branches', 'pts_bbox_head.reg_branches',
                 'pts_bbox_head.past_traj_reg_branches', 'query_embedding',
                 'reference_points')


def build_decoder(**kwargs):
    return MODELS.build(dict(type='UniADTrackDecoder', **kwargs))


@pytest.fixture(scope='module')
def case():
    return load_case('track_decoder.pt')


def manifest_path():
    for path in MANIFESTS:
        if osp.isfile(path):
            return path
    pytest.skip(f'UniAD stage-1 manifest not found ({" or ".join(MANIFESTS)})')


def test_track_decoder_matches_the_official_case(case):
    sizes, config = case['meta']['sizes'], case['config']
    head_cfg = config['pts_bbox_head']
    official = case['state_dict']
    mapping, unmapped = map_track_decoder_keys(official)
    assert unmapped == [] and len(mapping) == len(official) == 91
    decoder = build_decoder(
        num_layers=sizes['dec_layers'],
        num_query=sizes['num_track_queries'],
        num_classes=head_cfg['num_classes'],
        embed_dims=sizes['embed_dims'], past_steps=head_cfg['past_steps'],
        fut_steps=head_cfg['fut_steps'], pc_range=config['pc_range'])
    decoder.load_state_dict(convert_track_decoder_state_dict(official),
                            strict=True)
    decoder.eval()
    inputs = case['inputs']
    with torch.no_grad():
        embeds, ref_points = decoder.empty_queries()
        assert_close(embeds, inputs['object_query_embeds'], rtol=0, atol=0)
        assert_close(ref_points, inputs['ref_points'], rtol=1e-5,
                     atol=1e-5)
        outputs = decoder(inputs['bev_embed'].permute(1, 0, 2),
                          inputs['object_query_embeds'],
                          inputs['ref_points'],
                          (sizes['bev_h'], sizes['bev_w']))
    for name, atol in TOLERANCE.items():
        assert_close(outputs[name], case['outputs'][name], rtol=1e-4,
                     atol=atol, msg=lambda m, n=name: f'{n}: {m}')
    # The refined references are the boxes' normalised centres.
    assert_close(outputs['all_ref_points'][-1].logit(),
                 case['outputs']['last_ref_points'], rtol=1e-4, atol=1e-4)


def test_track_head_decodes_like_the_official_case(case):
    """UniADTrackHead (900 queries + the ego query) with the converted
    weights, on the empty tracks of a first frame."""
    sizes, config = case['meta']['sizes'], case['config']
    head = MODELS.build(dict(
        type='UniADTrackHead', num_classes=10, num_query=900,
        with_ego_query=True, num_layers=sizes['dec_layers'],
        pc_range=config['pc_range']))
    missing, unexpected = head.load_state_dict(
        convert_track_decoder_state_dict(case['state_dict'], 'decoder.'),
        strict=False)
    assert unexpected == [] and missing and \
        not any(k.startswith('decoder.') for k in missing)
    head.eval()
    height, width = sizes['bev_h'], sizes['bev_w']
    bev = case['inputs']['bev_embed'].permute(1, 2, 0).reshape(
        1, -1, height, width)
    with torch.no_grad():
        instances, outputs = head(bev, head.empty_tracks())
    want = case['outputs']
    assert len(instances) == 900 and len(outputs['ego']['hidden']) == 1
    for layer in range(sizes['dec_layers']):
        scores = want['all_cls_scores'][layer, 0]
        codes = uniad_codes_to_lidar(want['all_bbox_preds'][layer, 0])
        for got, ref in ((outputs['cls_scores'][layer], scores[:900]),
                         (outputs['ego']['cls_scores'][layer], scores[900:]),
                         (outputs['box_codes'][layer], codes[:900]),
                         (outputs['ego']['box_codes'][layer], codes[900:])):
            assert_close(got, ref, rtol=1e-4, atol=1e-3)
    assert_close(outputs['hidden'], want['query_feats'][-1, 0, :900],
                 rtol=1e-4, atol=1e-4)
    assert_close(outputs['ref'], want['last_ref_points'][0, :900].sigmoid(),
                 rtol=1e-4, atol=1e-4)


def test_uniad_codes_become_mmdet3d_1x_codes():
    """UniAD codes the boxes in mmdet3d 0.17's convention: (w, l) order
    and yaw' = -yaw - pi/2."""
    boxes = torch.tensor([[5.0, -3.0, -1.2, 4.5, 1.9, 1.6, 0.3, 1.0, 0.5],
                          [-20.0, 8.0, -0.5, 0.8, 0.6, 1.8, -2.5, 0.0, 0.2]])
    center = LiDARInstance3DBoxes(boxes, box_dim=9).gravity_center
    yaw_017 = -boxes[:, 6:7] - math.pi / 2
    uniad = torch.cat([center[:, :2], boxes[:, 4:5].log(),
                       boxes[:, 3:4].log(), center[:, 2:3],
                       boxes[:, 5:6].log(), yaw_017.sin(), yaw_017.cos(),
                       boxes[:, 7:9]], dim=1)
    assert_close(uniad_codes_to_lidar(uniad), encode_boxes(boxes))
    with pytest.raises(ValueError, match=r'\(\.\.\., 10\)'):
        uniad_codes_to_lidar(torch.zeros(2, 9))


def test_full_size_decoder_holds_every_official_decoder_key():
    with open(manifest_path()) as f:
        manifest = json.load(f)
    shapes = manifest['state_dict']
    mapping, unmapped = map_track_decoder_keys(shapes)
    assert unmapped == []
    decoder = build_decoder()  # UniAD stage 1: 6 layers, 900 + 1 queries
    ours = {k: tuple(v.shape) for k, v in decoder.state_dict().items()}
    assert sorted(mapping.values()) == sorted(ours)
    assert all(tuple(shapes[k]) == ours[v] for k, v in mapping.items())
    counts = manifest['param_counts']
    official = sum(counts[part]['params'] for part in DECODER_PARTS)
    assert sum(math.prod(shapes[k]) for k in mapping) == official
    assert sum(p.numel() for p in decoder.parameters()) == official == \
        6_995_483


def test_key_rules_and_unmapped_keys():
    assert track_decoder_key(
        'pts_bbox_head.transformer.decoder.layers.3.attentions.1.'
        'value_proj.weight', 'track_head.decoder.') == \
        'track_head.decoder.layers.3.cross_attn.value_proj.weight'
    assert track_decoder_key(
        'pts_bbox_head.past_traj_reg_branches.5.4.bias') == \
        'traj_branches.5.4.bias'
    keys = ['pts_bbox_head.transformer.decoder.layers.0.attentions.2.x',
            'pts_bbox_head.transformer.encoder.layers.0.norms.0.weight',
            'seg_head.reference_points.weight', 'reference_points.bias']
    mapping, unmapped = map_track_decoder_keys(keys)
    assert mapping == {'reference_points.bias': 'reference_points.bias'}
    assert unmapped == keys[:1]
    with pytest.raises(KeyError, match='1 track-decoder keys have no rule'):
        convert_track_decoder_state_dict({keys[0]: torch.zeros(1)})


def test_decoder_trains_on_a_batch_and_checks_the_bev():
    torch.manual_seed(0)
    decoder = build_decoder(num_layers=2, num_query=5, num_classes=3,
                            embed_dims=16, num_heads=2, num_points=2,
                            ffn_dims=32, past_steps=2, fut_steps=1)
    decoder.init_weights()
    embeds, ref_points = decoder.empty_queries()
    bev = torch.randn(2, 6 * 4, 16)
    outputs = decoder(bev, embeds, ref_points, (6, 4))
    assert outputs['all_cls_scores'].shape == (2, 2, 5, 3)
    assert outputs['all_bbox_preds'].shape == (2, 2, 5, 10)
    assert outputs['all_past_traj_preds'].shape == (2, 2, 5, 3, 2)
    assert outputs['query_feats'].shape == (2, 2, 5, 16)
    assert outputs['last_ref_points'].shape == (2, 5, 3)
    centers = outputs['all_bbox_preds'][..., [0, 1, 4]]
    assert_close(decoder.to_metric(outputs['all_ref_points']), centers)
    loss = sum(v.float().sum() for k, v in outputs.items()
               if k != 'all_ref_points')
    loss.backward()
    assert decoder.query_embedding.weight.grad.abs().sum() > 0
    assert decoder.layers[0].cross_attn.value_proj.weight.grad.abs().sum() \
        > 0
    with pytest.raises(ValueError, match=r'bev must be \(B, 6\*5, 16\)'):
        decoder(bev, embeds, ref_points, (6, 5))
