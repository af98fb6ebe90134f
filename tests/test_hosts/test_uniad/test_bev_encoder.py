"""BEV encoder: pillar projection, rebatched cross-attention, temporal
input."""
import numpy as np
import pytest
import torch
from mmcv.ops import MultiScaleDeformableAttention

from mmdet3d.registry import MODELS
from nexusflow.hosts.uniad import (PillarDeformableAttention,
                                   SpatialCrossAttention)
from helpers.uniad import build_dataset

PC_RANGE = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]


def small_encoder(**kwargs):
    cfg = dict(type='UniADBEVEncoder', bev_size=(8, 8), pc_range=PC_RANGE,
               embed_dims=16, num_layers=1, num_cams=6, num_levels=2,
               num_heads=2, num_anchors=2, tsa_points=2, sca_points=2,
               ffn_dims=32, dropout=0.0)
    cfg.update(kwargs)
    torch.manual_seed(0)
    encoder = MODELS.build(cfg)
    encoder.init_weights()
    return encoder.eval()


def test_pillars_project_into_the_camera_that_sees_them(
        tiny_cfg, synthetic_nuscenes_infos):
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos, 'val')
    info = dataset.get_data_info(0)
    cams = list(info['images'])
    lidar2img = torch.as_tensor(np.stack(info['lidar2img']))[None]
    height, width = info['images']['CAM_FRONT']['height'], \
        info['images']['CAM_FRONT']['width']
    # nuScenes' LiDAR looks along +y (rows). On 8 x 8 cells of 12.8 m,
    # row 6 / column 4 is (x, y) = (6.4, 32.0): ahead, slightly right; row 1
    # is 32 m behind.
    encoder = small_encoder()
    uv, hit = encoder.project_pillars(lidar2img.float(), (height, width))
    assert uv.shape == (1, 6, 64, 2, 2) and hit.shape == (1, 6, 64, 2)
    ahead, behind = 6 * 8 + 4, 1 * 8 + 4
    seen_ahead = {cams[n] for n in range(6) if hit[0, n, ahead].any()}
    seen_behind = {cams[n] for n in range(6) if hit[0, n, behind].any()}
    assert 'CAM_FRONT' in seen_ahead and 'CAM_BACK' not in seen_ahead
    assert 'CAM_BACK' in seen_behind and 'CAM_FRONT' not in seen_behind
    # A hit lands inside the image, in front of the camera.
    assert ((uv[hit] > 0) & (uv[hit] < 1)).all()


def test_rebatched_cross_attention_equals_dense_per_camera_sum():
    torch.manual_seed(0)
    sca = SpatialCrossAttention(embed_dims=16, num_heads=2, num_levels=2,
                                num_points=4, num_anchors=2, dropout=0.0)
    sca.init_weights()
    batch, cams, queries = 2, 3, 10
    shapes = torch.tensor([[4, 6], [2, 3]])
    start = torch.tensor([0, 24])
    query, pos = torch.randn(batch, queries, 16), torch.randn(
        batch, queries, 16)
    value = torch.randn(batch, cams, 30, 16)
    ref = torch.rand(batch, cams, queries, 2, 2)
    hit = torch.rand(batch, cams, queries, 2) > 0.6
    hit[0, :, 0] = False  # a query that no camera sees
    out = sca(query, pos, value, ref, hit, shapes, start)

    expected = query.clone()
    for b in range(batch):
        total = torch.zeros(queries, 16)
        count = torch.zeros(queries)
        for n in range(cams):
            dense = sca.attn(query[b:b + 1] + pos[b:b + 1],
                             value[b:b + 1, n], ref[b:b + 1, n], shapes,
                             start)[0]
            seen = hit[b, n].any(-1)
            total[seen] += dense[seen]
            count += seen.float()
        expected[b] += total / count.clamp(min=1)[:, None]
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.equal(out[0, 0], query[0, 0])


def test_one_anchor_matches_mmcv_deformable_attention():
    torch.manual_seed(0)
    pillar = PillarDeformableAttention(embed_dims=16, num_heads=2,
                                       num_levels=2, num_points=3,
                                       num_anchors=1)
    pillar.init_weights()
    plain = MultiScaleDeformableAttention(embed_dims=16, num_heads=2,
                                          num_levels=2, num_points=3,
                                          dropout=0.0, batch_first=True)
    plain.load_state_dict(pillar.state_dict())
    shapes = torch.tensor([[4, 6], [2, 3]])
    start = torch.tensor([0, 24])
    query, value = torch.randn(2, 5, 16), torch.randn(2, 30, 16)
    ref = torch.rand(2, 5, 1, 2)
    ours = pillar(query, value, ref, shapes, start)
    theirs = plain(query, value=value, reference_points=ref.expand(
        -1, -1, 2, -1), spatial_shapes=shapes, level_start_index=start)
    assert torch.allclose(ours + query, theirs, atol=1e-5)
    with pytest.raises(ValueError, match='multiple of num_anchors'):
        PillarDeformableAttention(num_points=6, num_anchors=4)


def test_encoder_uses_the_previous_bev_and_checks_inputs():
    encoder = small_encoder()
    feats = [torch.randn(1, 6, 16, 4, 6), torch.randn(1, 6, 16, 2, 3)]
    lidar2img = torch.eye(4).expand(1, 6, 4, 4).clone()
    lidar2img[..., 0, 3] = 50.0  # put some pillars inside the image
    with torch.no_grad():
        first = encoder(feats, lidar2img, (32, 48))
        prev = torch.randn_like(first)
        identity = torch.eye(4, dtype=torch.float64)[None]
        second = encoder(feats, lidar2img, (32, 48), prev, identity)
        again = encoder(feats, lidar2img, (32, 48), prev, identity)
    assert first.shape == (1, 16, 8, 8)
    assert not torch.allclose(first, second)
    assert torch.allclose(second, again)
    with pytest.raises(ValueError, match='prev_bev needs prev2curr'):
        encoder(feats, lidar2img, (32, 48), prev)
    with pytest.raises(ValueError, match='expected 2 feature levels'):
        encoder(feats[:1], lidar2img, (32, 48))
    with pytest.raises(ValueError, match=r'\(B, 6 cameras'):
        encoder([f[:, :5] for f in feats], lidar2img, (32, 48))
