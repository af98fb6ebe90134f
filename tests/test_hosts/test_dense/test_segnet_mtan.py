"""SegNetMTAN: task features, paper-size bottleneck, input checks."""
import pytest
import torch

from nexusflow.hosts.dense import SegNetMTAN


def test_task_features_at_full_resolution():
    net = SegNetMTAN(['semantic', 'depth'], channels=(4, 8, 8))
    feats = net(torch.randn(2, 3, 16, 24))
    assert set(feats) == {'semantic', 'depth'}
    for feat in feats.values():
        assert feat.shape == (2, 4, 16, 24)
    # Task attention makes the branches differ on the same input.
    assert not torch.allclose(feats['semantic'], feats['depth'])


def test_paper_size_bottleneck_is_512x9x12():
    with torch.device('meta'):
        net = SegNetMTAN(['semantic', 'depth', 'normal'])
        latent, indices, _ = net.encoder(torch.empty(1, 3, 288, 384))
        feats = net(torch.empty(1, 3, 288, 384))
    assert latent.shape == (1, 512, 9, 12)
    assert len(indices) == 5
    assert feats['normal'].shape == (1, 64, 288, 384)


def test_shared_part_does_not_grow_with_tasks():
    one = SegNetMTAN(['semantic'], channels=(4, 8))
    two = SegNetMTAN(['semantic', 'depth'], channels=(4, 8))
    shared = sum(p.numel() for p in one.encoder.parameters()) + sum(
        p.numel() for p in one.decoder.parameters())
    per_task = sum(p.numel() for p in one.attention.parameters()) + sum(
        p.numel() for p in one.refine.parameters())
    total = sum(p.numel() for p in two.parameters())
    assert total == shared + 2 * per_task


def test_input_size_must_fit_the_pooling():
    net = SegNetMTAN(['depth'], channels=(4, 4, 4))
    with pytest.raises(ValueError, match='divisible by 8'):
        net(torch.randn(1, 3, 20, 24))
    with pytest.raises(ValueError, match='tasks'):
        SegNetMTAN([])
