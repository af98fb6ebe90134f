import pytest
import torch

from mmdet3d.registry import MODELS
from nexusflow.core import DeformableAggregator, MLPAggregator

C, OUT = 16, 12


def build(kind, **kwargs):
    if kind == 'mlp':
        return MLPAggregator(C, OUT, **kwargs)
    return DeformableAggregator(C, OUT, num_queries=3, num_heads=4,
                                num_points=2, **kwargs)


@pytest.mark.parametrize('kind', ['mlp', 'deformable'])
@pytest.mark.parametrize('shape', [(2, C, 5, 7), (2, 9, C)])
def test_output_shape_for_maps_and_query_sets(kind, shape):
    out = build(kind)(torch.randn(*shape))
    assert out.shape == (2, OUT)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('pool', ['avg', 'max', 'avgmax'])
def test_mlp_pools(pool):
    agg = MLPAggregator(C, OUT, hidden_dim=8, pool=pool)
    feat = torch.randn(3, C, 4, 4)
    assert agg(feat).shape == (3, OUT)
    # pooling makes the map's spatial order irrelevant
    shuffled = feat.flatten(2)[..., torch.randperm(16)].view_as(feat)
    assert torch.allclose(agg(shuffled), agg(feat), atol=1e-6)


@pytest.mark.parametrize('kind', ['mlp', 'deformable'])
def test_padded_queries_are_ignored(kind):
    agg = build(kind, **({'pool': 'avgmax'} if kind == 'mlp' else {}))
    feat = torch.randn(2, 6, C)
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[0, 4:] = True
    mask[1, :] = True  # a sample with every query padded
    changed = feat.clone()
    changed[0, 4:] += 100.0
    changed[1] += 100.0
    out, out_changed = agg(feat, mask), agg(changed, mask)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, out_changed, atol=1e-5)
    assert not torch.allclose(agg(feat), agg(changed))


@pytest.mark.parametrize('shape', [(2, C, 6, 6), (2, 5, C)])
def test_deformable_keeps_all_parameters_in_graph(shape):
    agg = build('deformable')
    agg(torch.randn(*shape)).sum().backward()
    missing = [n for n, p in agg.named_parameters() if p.grad is None]
    assert not missing
    assert agg.query.weight.grad.abs().sum() > 0


def test_deformable_map_attention_reads_the_map():
    agg = build('deformable')
    feat = torch.randn(1, C, 6, 6)
    assert not torch.allclose(agg(feat), agg(feat * 2))


def test_built_from_registry():
    agg = MODELS.build(dict(type='DeformableAggregator', in_channels=8,
                            out_dim=4, num_heads=2))
    assert agg(torch.randn(1, 8, 4, 4)).shape == (1, 4)


@pytest.mark.parametrize('kind', ['mlp', 'deformable'])
def test_bad_inputs(kind):
    agg = build(kind)
    with pytest.raises(ValueError, match=r'C=15'):
        agg(torch.randn(2, 15, 4, 4))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\) map or a \(B, Q'):
        agg(torch.randn(2, C))
    with pytest.raises(ValueError, match='padding_mask must have shape'):
        agg(torch.randn(2, 5, C), torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='query sets only'):
        agg(torch.randn(2, C, 3, 3), torch.zeros(2, 9, dtype=torch.bool))


def test_bad_config():
    with pytest.raises(ValueError, match='pool must be one of'):
        MLPAggregator(C, OUT, pool='sum')
    with pytest.raises(ValueError, match='divisible by num_heads'):
        DeformableAggregator(10, OUT, num_heads=4)


@pytest.mark.parametrize('pool', ['avg', 'avgmax'])
@pytest.mark.parametrize('shape', [(2, 4, 3, 3), (2, 5, 4)])
def test_mlp_gradient_is_exact(pool, shape):
    agg = MLPAggregator(4, 3, pool=pool).double()
    feat = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(agg, (feat, ))
