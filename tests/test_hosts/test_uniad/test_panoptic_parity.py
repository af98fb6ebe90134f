"""UniADPanopticMapHead against UniAD's official seg head: the shared
reference case (official code on CPU, float32, the released GPU reading of
the 4-level deformable attentions) and the official stage-1 manifest."""
import json
import math
import os.path as osp

import pytest
import torch
from torch.testing import assert_close

import nexusflow  # noqa: F401
from mmdet3d.registry import MODELS
from nexusflow.converters.uniad_seg_keys import convert_seg_head_state_dict
from helpers.uniad_cases import load_case

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
REFERENCE = osp.join(osp.dirname(REPO), 'shared', 'reference')
MANIFESTS = (osp.join(REPO, 'tests', 'data', 'uniad_stage1_manifest.json'),
             osp.join(REFERENCE, 'uniad_stage1_manifest.json'))
# The case's README: rtol = atol = 1e-4 (1e-3 on pixel boxes), exact for
# bool / int outputs. Official name -> ours.
FORWARD = dict(outputs_classes='cls_scores', outputs_coords='bbox_preds',
               reference='reference', memory='memory',
               memory_pos='memory_pos', query='query', query_pos='query_pos')
MERGE = dict(bbox='bboxes', segm='masks', labels='labels',
             drivable='drivable', score_list='mask_scores', lane='lanes',
             lane_score='lane_scores', panoptic='panoptic')


def build_head(**kwargs):
    return MODELS.build(dict(type='UniADPanopticMapHead', **kwargs))


def case_head(case, **transformer):
    """The head at the case's sizes with the converted official weights."""
    sizes = case['meta']['sizes']
    head = build_head(
        canvas_size=case['config']['canvas_size'],
        transformer=dict(num_encoder_layers=sizes['seg_enc_layers'],
                         num_decoder_layers=sizes['seg_dec_layers'],
                         **transformer),
        thing_decoder=dict(num_layers=sizes['thing_mask_layers']),
        stuff_decoder=dict(num_layers=sizes['stuff_mask_layers']))
    mapped, dropped = convert_seg_head_state_dict(case['state_dict'])
    assert dropped == []  # the case holds only what inference reads
    head.load_state_dict(mapped, strict=True)
    return head.eval()


def case_bev(case):
    sizes = case['meta']['sizes']
    # (H*W, 1, C) row-major cells -> (1, C, H, W)
    return case['inputs']['bev_embed'].permute(1, 2, 0).reshape(
        1, -1, sizes['bev_h'], sizes['bev_w'])


@pytest.fixture(scope='module')
def case():
    return load_case('seg_head.pt')


@pytest.fixture(scope='module')
def outputs(case):
    head = case_head(case)
    with torch.no_grad():
        preds, feat = head(case_bev(case))
        merged = head.panoptic(preds)
    return preds, feat, merged


def manifest():
    for path in MANIFESTS:
        if osp.isfile(path):
            with open(path) as f:
                return json.load(f)
    pytest.skip(f'UniAD stage-1 manifest not found ({" or ".join(MANIFESTS)})')


def test_forward_matches_the_official_case(case, outputs):
    preds, feat, _ = outputs
    assert case['meta']['msda_cuda_layout_emulation']
    want = case['outputs']
    for official, ours in FORWARD.items():
        assert_close(preds[ours], want[official], rtol=1e-4, atol=1e-4,
                     msg=lambda m, n=official: f'{n}: {m}')
    assert not want['memory_mask'].any()  # the head never pads the BEV
    assert feat is preds['query'] and feat.shape == (1, 300, 256)


def test_panoptic_merge_matches_the_official_case(case, outputs):
    merged = outputs[2]
    assert len(merged) == 1
    want = case['outputs']
    for official, ours in MERGE.items():
        ref, got = want[f'get_bboxes.{official}'], merged[0][ours]
        if ref.is_floating_point():
            assert_close(got, ref, rtol=1e-4,
                         atol=1e-3 if official == 'bbox' else 1e-4,
                         msg=lambda m, n=official: f'{n}: {m}')
        else:
            assert got.dtype == ref.dtype and torch.equal(got, ref), official
    # The official code keeps no stuff instance in the merge.
    assert want['get_bboxes.stuff_score_list'].numel() == 0
    assert merged[0]['lanes'].any() and merged[0]['drivable'].any()


def test_predict_gives_the_official_lanes_and_drivable(case, outputs):
    head = case_head(case)
    preds = outputs[0]
    with torch.no_grad():
        masks = head.predict(preds)
    want = case['outputs']
    assert masks.shape == (1, 4, 50, 50) and masks.dtype == torch.float32
    assert torch.equal(masks[0, :3], want['get_bboxes.lane'].float())
    assert torch.equal(masks[0, 3], want['get_bboxes.drivable'].float())


def test_other_level_readings_do_not_match(case, outputs):
    """The official GPU reading is needed: without it the layers refuse
    one level, and a head that renormalises level 0 (num_levels=1 with the
    level-0 rows) is far from the official outputs."""
    with pytest.raises(ValueError, match='built for 4 levels but fed 1'):
        with torch.no_grad():
            case_head(case, cuda_level_layout=False)(case_bev(case))
    head = case_head(case)
    single = build_head(
        canvas_size=(50, 50),
        transformer=dict(num_encoder_layers=2, num_decoder_layers=2,
                         num_levels=1),
        thing_decoder=dict(num_layers=2), stuff_decoder=dict(num_layers=2))
    state = head.state_dict()
    state['transformer.level_embeds'] = state['transformer.level_embeds'][:1]
    for key, value in single.state_dict().items():
        if value.shape != state[key].shape:  # level-0 rows of 4 levels
            state[key] = state[key].unflatten(0, (8, 4, -1))[:, :1].flatten(
                0, 2)
    single.load_state_dict(state, strict=True)
    with torch.no_grad():
        preds, _ = single.eval()(case_bev(case))
    diff = (preds['cls_scores'] - case['outputs']['outputs_classes']).abs()
    assert diff.max() > 0.5


def test_official_layout_is_applied_per_sample(case):
    """With the official reading a batch gives each sample's own outputs
    (the layout is read per sample, not across the batch)."""
    head = case_head(case)
    bev = case_bev(case)
    other = bev.flip(-1) * 0.5
    with torch.no_grad():
        both, _ = head(torch.cat([bev, other]))
        alone, _ = head(other)
    assert_close(both['cls_scores'][:, 1:], alone['cls_scores'], rtol=1e-5,
                 atol=1e-5)
    assert_close(both['cls_scores'][:, :1],
                 case['outputs']['outputs_classes'], rtol=1e-4, atol=1e-4)


def test_full_size_head_holds_every_official_seg_head_tensor_it_reads():
    """Full size: same count as the official seg head less the tensors
    dropped on purpose (never read: BEV embedding; loss x0: thing-decoder
    box / class branches), every kept tensor with the official shape."""
    info = manifest()
    shapes = {k: tuple(v) for k, v in info['state_dict'].items()
              if k.startswith('seg_head.')}
    mapped, dropped = convert_seg_head_state_dict(shapes)
    head = build_head()
    ours = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    assert sorted(mapped) == sorted(ours)
    assert all(mapped[k] == ours[k] for k in ours)
    count = sum(p.numel() for p in head.parameters())
    official = info['param_counts']['seg_head']['params']
    dropped_count = sum(math.prod(shapes[k]) for k in dropped)
    assert official == 28_987_418
    assert count == 18_213_886 == official - dropped_count
    assert dropped_count == 10_240_000 + 530_448 + 3_084
