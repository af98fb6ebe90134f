import pytest
import torch

from mmdet3d.registry import MODELS

NECK = dict(
    type='NexusFlowNeck',
    surrogates=dict(
        track=dict(aggregator=dict(type='DeformableAggregator',
                                   in_channels=8, out_dim=6, num_queries=2,
                                   num_heads=2, num_points=2)),
        map=dict(aggregator=dict(type='MLPAggregator', in_channels=8,
                                 out_dim=6))),
    alignment=dict(type='PairwiseAlignmentLoss'),
    align_weight=0.5)


def test_forward_returns_the_same_tensor():
    neck = MODELS.build(NECK)
    bev = torch.randn(2, 8, 5, 5)
    assert neck(bev) is bev


def test_loss_from_task_features():
    neck = MODELS.build(NECK)
    feats = dict(track=torch.randn(2, 7, 8), map=torch.randn(2, 8, 5, 5))
    losses = neck.loss(feats)
    assert set(losses) == {'loss_align', 'dist_track', 'dist_map'}
    neck.align_weight = 1.0
    assert torch.allclose(neck.loss(feats)['loss_align'],
                          2 * losses['loss_align'])
    losses['loss_align'].backward()
    missing = [n for n, p in neck.named_parameters() if p.grad is None]
    assert not missing
    with pytest.raises(ValueError, match='>= 0'):
        neck.align_weight = -1.0
