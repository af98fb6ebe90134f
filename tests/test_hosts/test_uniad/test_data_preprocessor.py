"""Clip batches: frames normalised, padded and regrouped sample-major."""
import pytest
import torch

from helpers.uniad import build_dataset, build_model, collate


def test_clip_batch_becomes_b_t_n_images(tiny_cfg, synthetic_nuscenes_infos):
    model = build_model(tiny_cfg)
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos,
                            queue_length=2)
    data = collate(model, [dataset[1], dataset[6]])
    imgs, samples = data['inputs']['imgs'], data['data_samples']
    # 64 x 36 images padded to multiples of 32.
    assert imgs.shape == (2, 2, 6, 3, 64, 64)
    assert [[s.metainfo['frame_idx'] for s in clip] for clip in samples] \
        == [[0, 1], [1, 2]]
    assert len({s.metainfo['scene_token'] for s in samples[0]}) == 1
    raw = dataset[6]['inputs']['img'][1, 2].float()
    mean = torch.tensor([123.675, 116.28, 103.53])[:, None, None]
    std = torch.tensor([58.395, 57.12, 57.375])[:, None, None]
    assert torch.allclose(imgs[1, 1, 2, :, :36, :64],
                          (raw.flip(0) - mean) / std, atol=1e-4)
    assert samples[1][1].metainfo['batch_input_shape'] == (64, 64)


def test_single_frames_pass_through(tiny_cfg, synthetic_nuscenes_infos):
    model = build_model(tiny_cfg)
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos, 'val')
    data = collate(model, [dataset[0], dataset[1]], training=False)
    assert data['inputs']['imgs'].shape == (2, 6, 3, 64, 64)
    assert len(data['data_samples']) == 2


def test_clip_with_missing_frames_fails_clearly(tiny_cfg,
                                                synthetic_nuscenes_infos):
    model = build_model(tiny_cfg)
    dataset = build_dataset(tiny_cfg, synthetic_nuscenes_infos,
                            queue_length=2)
    item = dataset[1]
    item['inputs']['img'] = item['inputs']['img'][:1]
    with pytest.raises(ValueError, match=r'\(T=2, N, 3, H, W\)'):
        collate(model, [item])
