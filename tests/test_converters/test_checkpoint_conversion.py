"""Official BEVFormer / UniAD checkpoints -> the full-size UniADTrackMap:
synthetic state dicts laid out exactly like the official manifests (every
key, shape and dtype), converted, checked and loaded into the full-size
model (UniAD's seg_head onto its panoptic map head)."""
import json
import os.path as osp

import pytest
import torch

from mmdet3d.registry import MODELS
from nexusflow.converters.checkpoint import (OFFICIAL_CLASSES, check_kind,
                                             class_rows,
                                             convert_official_state_dict,
                                             summary_lines)
from nexusflow.converters.uniad_track_keys import \
    convert_track_decoder_state_dict
from nexusflow.structures.nuscenes_meta import TRACKING_CLASSES
from helpers.uniad import FULL, build_model, load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'tests', 'data')
MANIFESTS = dict(bevformer='bevformer_base_manifest.json',
                 uniad='uniad_stage1_manifest.json')
# Dropped on purpose, per kind: group -> number of official tensors.
DROPPED = dict(
    bevformer={'detection queries': 3, 'loss weights': 1},
    uniad={'seg_head.bev_embedding.weight': 1, 'seg_head.reg_branches2.*': 24,
           'seg_head.cls_thing_branches.*': 8, 'loss weights': 2})
# UniAD: 1124 image-branch / encoder / track-decoder keys, 38 of the query
# interaction module and memory bank, 545 seg_head keys.
MAPPED = dict(bevformer=1085, uniad=1707)
SEG_HEAD_MAPPED = 545
# Parts of the full-size model without an official counterpart.
NOT_OFFICIAL = ('neck.', )
# BEVFormer has no map head; UniAD stage 1 starts it from scratch.
NOT_IN_BEVFORMER_MAP = ('map_head.', )
# UniAD stage 1 does not load BEVFormer's detection queries either; the
# trajectory branches are UniAD's.
NOT_IN_BEVFORMER = ('track_head.decoder.query_embedding.',
                    'track_head.decoder.reference_points.',
                    'track_head.decoder.traj_branches.',
                    'track_head.query_update.')
# Rows of a head over the 7 tracking classes only (the default head keeps
# all 10 rows, UniAD's training classes, in the official order).
TRACKING_ROWS = [0, 1, 3, 4, 6, 7, 8]


def manifest(kind: str) -> dict:
    with open(osp.join(DATA, MANIFESTS[kind])) as f:
        return json.load(f)


def synthetic_state_dict(kind: str, seed: int = 0) -> dict:
    """Random tensors with the manifest's keys, shapes and dtypes; the class
    rows of every class branch hold their row index (weights) and 100 +
    their row index (biases)."""
    info = manifest(kind)
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in info['state_dict'].items():
        dtype = getattr(torch, info['state_dict_dtypes'][key])
        if key.endswith('running_var'):  # a variance is positive
            state[key] = torch.rand(shape, generator=gen).to(dtype) + 0.5
        elif dtype.is_floating_point:
            state[key] = torch.randn(shape, generator=gen).to(dtype)
        else:
            state[key] = torch.randint(0, 1000, shape, generator=gen,
                                       dtype=dtype)
    for key, value in state.items():
        if key.startswith('pts_bbox_head.cls_branches.') and \
                key.split('.')[3] == '6':
            rows = torch.arange(len(OFFICIAL_CLASSES), dtype=value.dtype)
            offset = 100.0 if key.endswith('bias') else 0.0
            value.copy_((rows + offset).view(-1, *[1] * (value.dim() - 1))
                        .expand_as(value))
    return state


@pytest.fixture(scope='module')
def full_model():
    cfg = load_config(FULL)
    cfg.model.img_backbone.init_cfg = None  # no download
    model = build_model(cfg, init=False)
    return model.eval()


@pytest.fixture(scope='module', params=['bevformer', 'uniad'])
def converted(request):
    kind = request.param
    official = synthetic_state_dict(kind)
    return kind, official, convert_official_state_dict(official, kind)


def test_class_rows_follow_our_classes():
    assert TRACKING_CLASSES == ('car', 'truck', 'bus', 'trailer',
                                'motorcycle', 'bicycle', 'pedestrian')
    assert OFFICIAL_CLASSES[:5] == ('car', 'truck', 'construction_vehicle',
                                    'bus', 'trailer')
    assert class_rows() == list(range(10))
    assert class_rows(TRACKING_CLASSES) == TRACKING_ROWS
    assert class_rows(OFFICIAL_CLASSES[::-1]) == list(range(10))[::-1]
    with pytest.raises(ValueError, match='official classes'):
        class_rows(['car', 'tram'])


def test_every_official_tensor_is_mapped_or_dropped_by_name(converted,
                                                            full_model):
    kind, official, conversion = converted
    assert conversion.unmapped == []
    assert {g: len(k) for g, k in conversion.dropped.items()} == \
        DROPPED[kind]
    assert len(conversion.mapping) == MAPPED[kind]
    assert len(conversion.mapping) + conversion.num_dropped == \
        len(official) == manifest(kind)['totals']['n_keys']
    target = full_model.state_dict()
    # UniAD stage 1: every seg_head tensor inference reads lands on the
    # panoptic map head, which then has all of its tensors.
    if kind == 'uniad':
        seg = {k: n for k, n in conversion.mapping.items()
               if k.startswith('seg_head.')}
        assert len(seg) == SEG_HEAD_MAPPED
        assert all(name.startswith('map_head.') for name in seg.values())
        assert sorted(seg.values()) == sorted(
            k for k in target if k.startswith('map_head.'))
        assert all(key.startswith('seg_head.') for group, keys in
                   conversion.dropped.items() if group.startswith('seg_head')
                   for key in keys)
    for key, name in conversion.mapping.items():
        value = conversion.state_dict[name]
        assert name in target, (key, name)
        assert value.shape == target[name].shape, (key, name)
        assert value.dtype == target[name].dtype, (key, name)
        if value.shape == official[key].shape:
            assert torch.equal(value, official[key]), key  # values kept
    lines = summary_lines(conversion, kind)
    assert lines[0] == (f'{kind}: {len(official)} tensors: '
                        f'{MAPPED[kind]} mapped / '
                        f'{sum(DROPPED[kind].values())} dropped / '
                        f'0 unmapped')


@pytest.mark.parametrize('classes', [None, TRACKING_CLASSES])
def test_class_branches_keep_our_rows_in_our_order(converted, classes):
    kind, official, conversion = converted
    want = list(range(10))
    if classes is not None:
        conversion = convert_official_state_dict(official, kind, classes)
        want = TRACKING_ROWS
    branches = 0
    for layer in range(6):
        for part, offset in (('weight', 0.0), ('bias', 100.0)):
            key = f'pts_bbox_head.cls_branches.{layer}.6.{part}'
            ours = conversion.state_dict[conversion.mapping[key]]
            assert ours.shape[0] == len(want)
            rows = ours if ours.dim() == 1 else ours[:, 0]
            assert rows.tolist() == [r + offset for r in want]
            branches += 1
        # Hidden layers and the regression rows are not permuted.
        key = f'pts_bbox_head.reg_branches.{layer}.4.weight'
        assert torch.equal(conversion.state_dict[conversion.mapping[key]],
                           official[key])
    assert branches == 12


def test_strict_load_into_the_full_size_model(converted, full_model):
    kind, _, conversion = converted
    state = conversion.state_dict
    missing, unexpected = full_model.load_state_dict(state, strict=False)
    assert unexpected == []
    not_loaded = NOT_OFFICIAL + (
        NOT_IN_BEVFORMER + NOT_IN_BEVFORMER_MAP if kind == 'bevformer'
        else ())
    assert missing and all(key.startswith(not_loaded) for key in missing)
    assert {p for p in not_loaded if any(k.startswith(p) for k in missing)} \
        == set(not_loaded)

    def part(prefix):
        return {k[len(prefix):]: v for k, v in state.items()
                if k.startswith(prefix)}

    for name in ('img_backbone', 'img_neck', 'bev_encoder'):
        getattr(full_model, name).load_state_dict(part(name + '.'),
                                                  strict=True)
    decoder = full_model.track_head.decoder
    if kind == 'uniad':
        decoder.load_state_dict(part('track_head.decoder.'), strict=True)
        full_model.map_head.load_state_dict(part('map_head.'), strict=True)
    else:
        missing, unexpected = decoder.load_state_dict(
            part('track_head.decoder.'), strict=False)
        assert unexpected == [] and all(
            ('track_head.decoder.' + k).startswith(NOT_IN_BEVFORMER)
            for k in missing)
    # The weights are the checkpoint's (DCN offsets included).
    dcn = 'img_backbone.layer3.0.conv2.conv_offset.weight'
    assert torch.equal(full_model.state_dict()[dcn], state[dcn])


def test_converted_track_head_scores_our_classes_as_the_official_rows():
    """A 7-class head converted for the tracking classes and a 10-class
    head with the official weights decode the same boxes; its scores are the
    official rows of its classes."""
    official = synthetic_state_dict('uniad', seed=3)
    conversion = convert_official_state_dict(official, 'uniad',
                                             TRACKING_CLASSES)
    head = MODELS.build(dict(type='UniADTrackHead', num_classes=7,
                             num_query=900, with_ego_query=True))
    head.load_state_dict(
        {k[len('track_head.'):]: v for k, v in conversion.state_dict.items()
         if k.startswith('track_head.decoder.')}, strict=False)
    ref = MODELS.build(dict(type='UniADTrackHead', num_classes=10,
                            num_query=900, with_ego_query=True)).eval()
    ref.load_state_dict(convert_track_decoder_state_dict(official,
                                                         'decoder.'),
                        strict=False)
    bev = torch.randn(1, 256, 16, 16, generator=torch.Generator()
                      .manual_seed(1))
    with torch.no_grad():
        _, ours = head.eval()(bev, head.empty_tracks())
        _, want = ref(bev, ref.empty_tracks())
    assert ours['cls_scores'][-1].shape[1] == 7
    torch.testing.assert_close(ours['cls_scores'][-1],
                               want['cls_scores'][-1][:, TRACKING_ROWS])
    torch.testing.assert_close(ours['box_codes'][-1], want['box_codes'][-1])
    assert torch.isfinite(ours['box_codes'][-1]).all()


def test_wrong_kind_is_named():
    encoder = 'pts_bbox_head.transformer.encoder.layers.0.x'
    bevformer = {'pts_bbox_head.query_embedding.weight': torch.zeros(1),
                 encoder: torch.zeros(1)}
    check_kind(bevformer, 'bevformer')
    with pytest.raises(ValueError, match='looks like a bevformer'):
        check_kind(bevformer, 'uniad', source='a.pth')
    with pytest.raises(ValueError, match='already converted'):
        check_kind({'bev_encoder.x': torch.zeros(1)}, 'uniad')
    with pytest.raises(ValueError, match='unknown checkpoint kind'):
        check_kind(bevformer, 'detr3d')


# The BEV-size tensors: 200 x 200 at full size; the forward below runs a
# 50 x 50 BEV (mmcv's CPU deformable attention at 200 x 200 needs tens of
# GB), so these three keep their initial values.
BEV_SIZED = ('bev_encoder.bev_embedding.weight',
             'bev_encoder.positional_encoding.row_embed.weight',
             'bev_encoder.positional_encoding.col_embed.weight')


def test_converted_model_runs_a_training_frame(synthetic_nuscenes_infos):
    from helpers.uniad import build_dataset, collate
    cfg = load_config(FULL)
    cfg.model.img_backbone.init_cfg = None
    cfg.model.bev_encoder.bev_size = (50, 50)
    model = build_model(cfg)
    conversion = convert_official_state_dict(
        synthetic_state_dict('uniad', seed=4), 'uniad')
    # Random weights at a trained network's scale (norms as they are).
    state = {k: v * 0.02 if v.is_floating_point() and 'norm' not in k
             and 'bn' not in k else v
             for k, v in conversion.state_dict.items()
             if k not in BEV_SIZED}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert unexpected == [] and all(
        k.startswith(NOT_OFFICIAL) or k in BEV_SIZED for k in missing)
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, queue_length=1)
    singapore = next(i for i in range(len(dataset))
                     if dataset.get_data_info(i)['location'] ==
                     'singapore-onenorth')
    data = collate(model, [dataset[singapore]])
    with torch.no_grad():
        losses = model(**data, mode='loss')
    assert {'loss_track_cls', 'loss_map_cls', 'loss_map_things'} <= set(
        losses)
    assert all(torch.isfinite(v) for v in losses.values())
