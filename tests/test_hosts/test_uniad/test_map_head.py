"""Dense BEV map head: shapes, labeled-only losses, clear shape errors."""
import pytest
import torch

from mmdet3d.registry import MODELS


def make_head():
    torch.manual_seed(0)
    return MODELS.build(dict(type='BEVMapHead', in_channels=8,
                             feat_channels=4, out_size=(12, 16)))


def test_logits_on_the_map_canvas_and_feature_on_the_bev():
    head = make_head()
    logits, feat = head(torch.randn(2, 8, 6, 8))
    assert logits.shape == (2, 4, 12, 16) and feat.shape == (2, 4, 6, 8)
    probs = head.predict(logits)
    assert probs.min() >= 0 and probs.max() <= 1


def test_loss_drops_with_a_better_prediction():
    head = make_head()
    target = (torch.rand(4, 12, 16) > 0.7).to(torch.uint8)
    good = (target.float() * 2 - 1)[None] * 8
    bad = -good
    loss_good = head.loss(good, [target])
    loss_bad = head.loss(bad, [target])
    assert set(loss_good) == {'loss_map_mask', 'loss_map_dice'}
    for key in loss_good:
        assert loss_good[key] < loss_bad[key]


def test_zero_loss_keeps_every_parameter_with_zero_grad():
    head = make_head()
    logits, _ = head(torch.randn(2, 8, 6, 8))
    losses = head.zero_loss(logits)
    sum(losses.values()).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().max() == 0, name


def test_gt_of_another_canvas_fails_clearly():
    head = make_head()
    with pytest.raises(ValueError, match='set out_size'):
        head.loss(torch.zeros(1, 4, 12, 16),
                  [torch.zeros(4, 200, 200, dtype=torch.uint8)])
    with pytest.raises(ValueError, match='1 predictions but 2 GT'):
        head.loss(torch.zeros(1, 4, 12, 16),
                  [torch.zeros(4, 12, 16)] * 2)
