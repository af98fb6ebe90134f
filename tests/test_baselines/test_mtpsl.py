"""MTPSLLoss: pairs with an unlabeled target contribute nothing, exact
zeros keep the graph, and a short partial-label training."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmdet3d.registry import MODELS
from nexusflow.baselines import MTPSLLoss
from helpers.dense import train_onelabel

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                   'dense')
OUTS = dict(semantic=5, depth=1, normal=3)


def _loss(**kwargs):
    torch.manual_seed(0)
    return MTPSLLoss(OUTS, channels=(4, 8), feat_channels=6, **kwargs).eval()


def _batch(seed=0, batch=3, size=(8, 12)):
    gen = torch.Generator().manual_seed(seed)
    preds = dict(semantic=torch.randn(batch, 5, *size, generator=gen),
                 depth=torch.rand(batch, 1, *size, generator=gen),
                 normal=torch.nn.functional.normalize(
                     torch.randn(batch, 3, *size, generator=gen), dim=1))
    targets = dict(
        semantic=torch.randint(-1, 5, (batch, ) + size, generator=gen),
        depth=torch.rand(batch, 1, *size, generator=gen) + 0.5,
        normal=torch.nn.functional.normalize(
            torch.randn(batch, 3, *size, generator=gen), dim=1))
    feats = {t: torch.randn(batch, 6, *size, generator=gen) for t in OUTS}
    return preds, targets, feats


def _labeled(**tasks):
    return {t: torch.tensor(tasks.get(t, [False] * 3)) for t in OUTS}


def test_only_pairs_with_labeled_target_contribute():
    loss = _loss()
    preds, targets, feats = _batch()
    labeled = _labeled(semantic=[True, False, False],
                       depth=[False, True, False])
    terms = loss.pair_terms(preds, targets, labeled, feats)
    assert set(terms) == {('depth', 'semantic'), ('normal', 'semantic'),
                          ('semantic', 'depth'), ('normal', 'depth')}
    assert all(c.shape == (1, ) and r.shape == (1, )
               for c, r in terms.values())
    torch.manual_seed(1)
    first = loss(preds, targets, labeled, feats)
    # Changing every unlabeled target (here all of normal, and semantic /
    # depth on the samples not labeled for them) changes nothing.
    other = dict(targets)
    other['normal'] = -targets['normal']
    other['semantic'] = targets['semantic'].clone()
    other['semantic'][1:] = (other['semantic'][1:] + 1) % 5
    other['depth'] = targets['depth'].clone()
    other['depth'][[0, 2]] += 3.0
    torch.manual_seed(1)  # same Gumbel noise
    second = loss(preds, other, labeled, feats)
    for key in first:
        assert torch.equal(first[key], second[key]), key
    # ... while changing a labeled one does.
    other['depth'][1] += 3.0
    torch.manual_seed(1)
    third = loss(preds, other, labeled, feats)
    assert not torch.equal(first['loss_mtpsl_cross'],
                           third['loss_mtpsl_cross'])


def test_weights_and_averaging_over_pair_items():
    loss = _loss()
    preds, targets, feats = _batch()
    labeled = _labeled(depth=[True, True, False])
    torch.manual_seed(2)
    terms = loss.pair_terms(preds, targets, labeled, feats)
    torch.manual_seed(2)
    out = loss(preds, targets, labeled, feats)
    cross = torch.cat([c for c, _ in terms.values()]).mean()
    reg = torch.cat([r for _, r in terms.values()]).mean()
    assert len(terms) == 2  # (semantic, depth), (normal, depth)
    assert torch.allclose(out['loss_mtpsl_cross'], 2.0 * cross)
    assert torch.allclose(out['loss_mtpsl_reg'], 2.0 * 0.5 * reg)
    assert out['loss_mtpsl_cross'] > 0


def test_no_labels_give_exact_zero_and_keep_the_graph():
    loss = _loss()
    preds, targets, feats = _batch()
    preds = {t: p.requires_grad_() for t, p in preds.items()}
    out = loss(preds, targets, _labeled(), feats)
    assert out['loss_mtpsl_cross'].item() == 0.0
    assert out['loss_mtpsl_reg'].item() == 0.0
    sum(out.values()).backward()
    for param in loss.parameters():
        assert param.grad is not None
        assert torch.count_nonzero(param.grad) == 0


def test_semantic_prediction_passes_hard_gumbel_softmax():
    loss = _loss()
    logits = torch.randn(2, 5, 4, 4, requires_grad=True)
    onehot = loss._prediction_input('semantic', logits)
    assert torch.equal(onehot.sum(dim=1), torch.ones(2, 4, 4))
    assert set(onehot.unique().tolist()) == {0.0, 1.0}
    (onehot * torch.randn_like(onehot)).sum().backward()
    assert logits.grad.abs().sum() > 0  # straight-through gradient


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match='at least two tasks'):
        MTPSLLoss(dict(depth=1))
    loss = _loss()
    preds, targets, feats = _batch()
    labeled = _labeled(depth=[True, True, True])
    with pytest.raises(ValueError, match='feats'):
        loss(preds, targets, labeled)
    wide = {t: torch.randn(3, 7, 8, 12) for t in OUTS}
    with pytest.raises(ValueError, match='feat_channels=6'):
        loss(preds, targets, labeled, wide)


@pytest.mark.slow
def test_mtpsl_training_on_onelabel_improves_every_task(tiny_nyuv2):
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'nyuv2_segnet_mtpsl_onelabel_tiny.py'))
    assert cfg.model.regularizer.loss_weight == 2.0
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)

    def check(losses):
        assert losses['loss_mtpsl_cross'].requires_grad

    before, after = train_onelabel(model, tiny_nyuv2, steps=30, check=check)
    for task in model.tasks:
        assert after[task] < 0.95 * before[task], (task, before, after)
