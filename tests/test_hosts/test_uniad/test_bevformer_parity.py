"""BEVFormerEncoder against the official UniAD encoder.

* First frame: the shared reference case ``encoder_t0.pt`` (official
  ``BEVFormerTrackHead.get_bev_features`` outputs, weights converted from its
  official key names), at the case's tolerances.
* A frame with a previous BEV and ego motion (shift and rotation), which the
  shared cases do not cover: against the slow reference of
  ``helpers/bevformer_reference.py``, written from the README's rules and
  itself checked against the official first-frame case.
* Key mapping: every encoder-related key of the official UniAD stage-1 and
  BEVFormer-base manifests maps onto the full-size encoder with equal
  shapes.
"""
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch

from nexusflow.converters.bevformer_keys import (
    ENCODER_PREFIXES, bevformer_encoder_key, convert_bevformer_encoder_keys)
from nexusflow.hosts.uniad import BEVFormerEncoder
from helpers.bevformer_reference import (official_encoder_keys,
                                         reference_encoder)
from helpers.uniad_cases import load_case

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
DATA = osp.join(REPO, 'tests', 'data')
PC_RANGE = (-51.2, -51.2, -5.0, 51.2, 51.2, 3.0)


@pytest.fixture(scope='module')
def encoder_case() -> dict:
    return load_case('encoder_t0.pt')


def case_inputs(case: dict):
    meta = case['inputs']['img_metas'][0]
    lidar2img = torch.as_tensor(np.asarray(meta['lidar2img'])[None],
                                dtype=torch.float32)
    image_hw = tuple(meta['img_shape'][0][:2])
    can_bus = np.asarray(meta['can_bus'], dtype=np.float64)
    return case['inputs']['mlvl_feats'], lidar2img, image_hw, can_bus


def case_encoder(case: dict) -> BEVFormerEncoder:
    sizes = case['meta']['sizes']
    encoder = BEVFormerEncoder(
        bev_size=(sizes['bev_h'], sizes['bev_w']), pc_range=PC_RANGE,
        embed_dims=sizes['embed_dims'], num_layers=sizes['enc_layers'],
        num_cams=sizes['num_cams'], num_levels=len(sizes['feat_hw']),
        rotate_center=sizes['rotate_center']).eval()
    conversion = convert_bevformer_encoder_keys(
        case['state_dict'], encoder_prefix='',
        target=encoder.state_dict())
    assert conversion.unmapped == [] and conversion.ignored == []
    assert conversion.shape_mismatches == [] and conversion.missing == []
    encoder.load_state_dict(conversion.state_dict, strict=True)
    return encoder


def close(got, ref, tol=1e-4):
    torch.testing.assert_close(got, ref, rtol=tol, atol=tol)


@pytest.mark.threads(2)
def test_first_frame_matches_official(encoder_case):
    encoder = case_encoder(encoder_case)
    feats, lidar2img, image_hw, can_bus = case_inputs(encoder_case)
    outputs, debug = encoder_case['outputs'], encoder_case['outputs']['debug']
    layer0 = {}
    hook = encoder.layers[0].register_forward_hook(
        lambda module, args, out: layer0.setdefault('out', out))
    with torch.no_grad():
        bev = encoder(feats, lidar2img, image_hw, None, can_bus[None])
        can_embed = encoder.can_bus_mlp(
            torch.as_tensor(can_bus[None], dtype=torch.float32))
        bev_pos = encoder.bev_positional_encoding(1)
        ref_cam, bev_mask = encoder.camera_reference_points(
            lidar2img, image_hw)
    hook.remove()
    close(bev.flatten(2).transpose(1, 2), outputs['bev_embed'])
    close(layer0['out'], debug['bev_embed_layer0'])
    close(can_embed, debug['can_bus_embed'])
    assert torch.equal(bev_pos, outputs['bev_pos'])
    # Official layouts: (num_cam, bs, HW, D[, 2]).
    official_mask = debug['bev_mask'].transpose(0, 1)
    assert torch.equal(bev_mask, official_mask)
    close(ref_cam[official_mask],
          debug['reference_points_cam'].transpose(0, 1)[official_mask])
    assert torch.equal(debug['shift'], torch.zeros(1, 2))


@pytest.mark.threads(2)
def test_reference_implementation_reproduces_official_first_frame(
        encoder_case):
    feats, _, image_hw, can_bus = case_inputs(encoder_case)
    sizes = encoder_case['meta']['sizes']
    meta = encoder_case['inputs']['img_metas'][0]
    with torch.no_grad():
        ref = reference_encoder(
            encoder_case['state_dict'], feats, np.asarray(meta['lidar2img']),
            image_hw, can_bus, (sizes['bev_h'], sizes['bev_w']), PC_RANGE,
            num_layers=sizes['enc_layers'], num_heads=8, num_anchors=4,
            tsa_points=4, sca_points=8,
            rotate_center=sizes['rotate_center'])
    outputs = encoder_case['outputs']
    close(ref['bev'], outputs['bev_embed'][0])
    close(ref['layers'][0], outputs['debug']['bev_embed_layer0'][0])
    assert torch.equal(ref['mask'], outputs['debug']['bev_mask'][:, 0])


# ----------------------------------------------- previous BEV, ego motion
SMALL = dict(bev_size=(10, 12), embed_dims=32, num_layers=2, num_cams=3,
             num_levels=2, num_heads=4, num_anchors=4, tsa_points=4,
             sca_points=8, ffn_dims=64)
IMAGE_HW = (48, 80)
FEAT_HW = ((6, 10), (3, 5))


def small_rig() -> np.ndarray:
    """Three pinhole cameras at the LiDAR origin looking along yaw 0, 120
    and 240 degrees (camera x right, y down, z forward)."""
    mats = []
    for yaw in (0.0, 2 * math.pi / 3, 4 * math.pi / 3):
        forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        down = np.array([0.0, 0.0, -1.0])
        lidar2cam = np.eye(4)
        lidar2cam[:3, :3] = np.stack([right, down, forward])
        lidar2cam[:3, 3] = [0.0, 0.3, 0.0]
        intrinsics = np.eye(4)
        intrinsics[:3, :3] = [[30.0, 0.0, 40.0], [0.0, 30.0, 24.0],
                              [0.0, 0.0, 1.0]]
        mats.append(intrinsics @ lidar2cam)
    return np.stack(mats)


def official_weights(seed: int) -> dict:
    """Random official-layout weights: the official init plus noise."""
    torch.manual_seed(seed)
    encoder = BEVFormerEncoder(pc_range=PC_RANGE, **SMALL)
    encoder.init_weights()
    ours = encoder.state_dict()
    official = {}
    for key in official_encoder_keys(SMALL['num_layers']):
        value = ours[bevformer_encoder_key(key, '')]
        official[key] = value + 0.05 * torch.randn(value.shape)
    return official


def motion_can_bus(translation, yaw_rad, yaw_change_deg) -> np.ndarray:
    can_bus = np.zeros(18)
    can_bus[0:3] = translation
    can_bus[3:7] = [0.95, 0.0, 0.0, 0.31]
    can_bus[7:16] = np.linspace(-0.4, 0.5, 9)
    can_bus[16] = yaw_rad
    can_bus[17] = yaw_change_deg
    return can_bus


@pytest.mark.threads(2)
def test_frame_with_prev_bev_and_ego_motion_matches_reference():
    official = official_weights(seed=3)
    encoder = BEVFormerEncoder(pc_range=PC_RANGE, **SMALL).eval()
    conversion = convert_bevformer_encoder_keys(
        official, encoder_prefix='', target=encoder.state_dict())
    assert not (conversion.unmapped or conversion.missing
                or conversion.shape_mismatches)
    encoder.load_state_dict(conversion.state_dict, strict=True)

    torch.manual_seed(4)
    dims, (height, width) = SMALL['embed_dims'], SMALL['bev_size']
    feats = [torch.randn(1, SMALL['num_cams'], dims, h, w)
             for h, w in FEAT_HW]
    lidar2img = small_rig()
    prev_bev = torch.randn(height * width, dims)
    can_bus = motion_can_bus([3.1, -1.7, 0.2], 0.61, 17.5)
    center = (width / 2, height / 2)
    with torch.no_grad():
        got = encoder(feats, torch.as_tensor(lidar2img[None]).float(),
                      IMAGE_HW,
                      prev_bev.t().reshape(1, dims, height, width),
                      can_bus[None])
        ref = reference_encoder(
            official, feats, lidar2img, IMAGE_HW, can_bus, (height, width),
            PC_RANGE, SMALL['num_layers'], SMALL['num_heads'],
            SMALL['num_anchors'], SMALL['tsa_points'], SMALL['sca_points'],
            center, prev_bev=prev_bev)
        first = encoder(feats, torch.as_tensor(lidar2img[None]).float(),
                        IMAGE_HW, None, can_bus[None])
    # The case exercises what it claims: cameras see the grid, the rotation
    # moves cells and leaves zero-filled corners, the shift is sub-cell.
    assert ref['mask'].any(-1).any(0).float().mean() > 0.5
    assert (ref['prev_rotated'] == 0).all(-1).sum() > 0
    assert not torch.equal(ref['prev_rotated'], prev_bev)
    assert 0.1 < ref['shift'].abs().max() * width < 1
    close(got.flatten(2)[0].t(), ref['bev'])
    assert (got - first).abs().max() > 0.1


@pytest.mark.threads(2)
def test_batch_runs_each_sample_as_alone():
    encoder = BEVFormerEncoder(pc_range=PC_RANGE, **SMALL).eval()
    encoder.init_weights()
    torch.manual_seed(5)
    dims, (height, width) = SMALL['embed_dims'], SMALL['bev_size']
    feats = [torch.randn(2, SMALL['num_cams'], dims, h, w)
             for h, w in FEAT_HW]
    rig = torch.as_tensor(small_rig()).float()
    # The second sample's rig is turned by 50 degrees, so the camera masks
    # differ between the samples.
    turn = torch.eye(4)
    turn[:2, :2] = torch.tensor([[math.cos(0.87), -math.sin(0.87)],
                                 [math.sin(0.87), math.cos(0.87)]])
    lidar2img = torch.stack([rig, rig @ turn])
    prev = torch.randn(2, dims, height, width)
    can_bus = np.stack([motion_can_bus([1.0, 2.0, 0.0], 1.2, -8.0),
                        motion_can_bus([-2.5, 0.4, 0.0], 4.0, 3.0)])
    with torch.no_grad():
        both = encoder(feats, lidar2img, IMAGE_HW, prev, can_bus)
        for b in range(2):
            alone = encoder([f[b:b + 1] for f in feats], lidar2img[b:b + 1],
                            IMAGE_HW, prev[b:b + 1], can_bus[b:b + 1])
            close(both[b:b + 1], alone, 1e-5)


# ------------------------------------------------------------ key mapping
@pytest.mark.parametrize('name', ['uniad_stage1_manifest.json',
                                  'bevformer_base_manifest.json'])
def test_official_encoder_keys_map_with_equal_shapes(name):
    with open(osp.join(DATA, name)) as f:
        manifest = json.load(f)
    shapes = {key: tuple(shape)
              for key, shape in manifest['state_dict'].items()
              if key.startswith(ENCODER_PREFIXES)}
    encoder = BEVFormerEncoder(pc_range=PC_RANGE)  # the full-size encoder
    target = encoder.state_dict()
    official = {key: torch.zeros(shape) for key, shape in shapes.items()}
    conversion = convert_bevformer_encoder_keys(official, encoder_prefix='',
                                                target=target)
    assert conversion.unmapped == [] and conversion.ignored == []
    assert conversion.shape_mismatches == [] and conversion.missing == []
    assert len(conversion.state_dict) == len(target) == 167
    encoder.load_state_dict(conversion.state_dict, strict=True)
    # Parameter counts: the manifest's encoder-related submodules.
    counts = manifest['param_counts']
    parts = ('bev_embedding', 'positional_encoding',
             'transformer.level_embeds', 'transformer.cams_embeds',
             'transformer.can_bus_mlp', 'transformer.encoder')
    official_params = sum(counts[f'pts_bbox_head.{part}']['params']
                          for part in parts)
    ours = sum(p.numel() for p in encoder.parameters())
    assert ours == official_params == 15270656
    assert sum(p.numel() for p in encoder.layers.parameters()) == \
        counts['pts_bbox_head.transformer.encoder']['params']
