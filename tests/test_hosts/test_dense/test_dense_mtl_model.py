"""DenseMTLModel: labeled-only supervision, exact zeros, predictions."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from nexusflow.hosts.dense import DenseMTLModel
from helpers.dense import make_sample

TASKS = dict(semantic=dict(num_classes=5), depth=dict(), normal=dict())


def _model(**kwargs):
    torch.manual_seed(0)
    return DenseMTLModel(backbone=dict(type='SegNetMTAN', channels=(4, 8)),
                         tasks=TASKS, **kwargs)


ONLY_SEMANTIC = dict(semantic=True, depth=False, normal=False)
ONLY_DEPTH = dict(semantic=False, depth=True, normal=False)


def test_unlabeled_task_loss_is_exact_zero_and_keeps_graph():
    model = _model()
    inputs = torch.randn(2, 3, 8, 12)
    samples = [make_sample(ONLY_SEMANTIC, seed=1),
               make_sample(ONLY_SEMANTIC, seed=2)]
    losses = model.loss(inputs, samples)
    assert losses['loss_depth'].item() == 0.0
    assert losses['loss_normal'].item() == 0.0
    assert losses['loss_semantic'].item() > 0
    assert losses['loss_depth'].requires_grad
    sum(losses.values()).backward()
    for task in ('depth', 'normal'):
        for param in model.heads[task].parameters():
            assert param.grad is not None
            assert torch.count_nonzero(param.grad) == 0


def test_loss_reads_only_labeled_samples():
    model = _model()
    model.eval()  # BatchNorm batch statistics would couple the samples
    inputs = torch.randn(2, 3, 8, 12)
    mixed = [make_sample(ONLY_DEPTH, seed=1),
             make_sample(ONLY_SEMANTIC, seed=2)]
    loss = model.loss(inputs, mixed)
    single = model.loss(inputs[:1], mixed[:1])
    assert torch.allclose(loss['loss_depth'], single['loss_depth'])
    # Perturbing the input of the depth-unlabeled sample leaves the depth
    # loss unchanged.
    other = inputs.clone()
    other[1] += 1.0
    assert torch.allclose(model.loss(other, mixed)['loss_depth'],
                          loss['loss_depth'])


def test_sample_without_task_mask_is_fully_labeled():
    model = _model()
    sample = make_sample(dict(semantic=True, depth=True, normal=True))
    sample.set_metainfo(dict(task_mask=None))
    losses = model.loss(torch.randn(1, 3, 8, 12), [sample])
    assert all(losses[f'loss_{t}'] > 0 for t in TASKS)


def test_predict_adds_predictions():
    model = _model()
    model.eval()
    samples = model.predict(torch.randn(2, 3, 8, 12),
                            [BaseDataElement(), BaseDataElement()])
    assert samples[0].pred_semantic.shape == (8, 12)
    assert samples[0].pred_semantic.max() < 5
    assert samples[0].pred_depth.shape == (1, 8, 12)
    norms = samples[1].pred_normal.norm(dim=0)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)


def test_stl_builds_one_backbone_per_task():
    stl = _model(separate=True)
    mtl = _model()
    assert set(stl.backbones) == set(TASKS)
    assert sum(p.numel() for p in stl.parameters()) > sum(
        p.numel() for p in mtl.parameters())
    outputs = stl(torch.randn(1, 3, 8, 12))
    assert outputs['semantic'].shape == (1, 5, 8, 12)


def test_nexusflow_alignment_covers_unlabeled_tasks():
    neck = dict(
        type='NexusFlowNeck',
        surrogates={t: dict(aggregator=dict(type='MLPAggregator',
                                            in_channels=4, out_dim=6),
                            flow=dict(type='RealNVPFlow', num_layers=2,
                                      hidden_dim=8))
                    for t in TASKS},
        alignment=dict(type='CentroidAlignmentLoss'), align_weight=0.5)
    model = _model(neck=neck)
    losses = model.loss(torch.randn(2, 3, 8, 12),
                        [make_sample(ONLY_SEMANTIC),
                         make_sample(ONLY_SEMANTIC, seed=3)])
    assert losses['loss_align'] > 0
    assert {'dist_semantic', 'dist_depth', 'dist_normal'} <= set(losses)
    losses['loss_align'].backward()
    # The alignment reaches the branch of a task no sample is labeled for.
    grads = [p.grad for p in model.backbone.refine['depth'].parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


def test_bad_configuration():
    with pytest.raises(ValueError, match='subset'):
        DenseMTLModel(backbone=dict(type='SegNetMTAN'), tasks=dict(edge={}))
    with pytest.raises(ValueError, match='num_classes'):
        DenseMTLModel(backbone=dict(type='SegNetMTAN'),
                      tasks=dict(semantic={}))
    with pytest.raises(ValueError, match='task_mask'):
        _model().loss(torch.randn(1, 3, 8, 12), [
            BaseDataElement(metainfo=dict(task_mask=dict(semantic=True)))])
