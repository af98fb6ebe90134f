import pytest
import torch
from torch import nn

from mmdet3d.registry import MODELS
from nexusflow.core import PlainMLP, RealNVPFlow, TaskSurrogate

AGG = dict(type='MLPAggregator', in_channels=8, out_dim=6)


def test_invertible_surrogate_maps_to_latent():
    surrogate = MODELS.build(
        dict(type='TaskSurrogate', aggregator=AGG,
             flow=dict(type='RealNVPFlow', num_layers=4)))
    assert isinstance(surrogate.flow, RealNVPFlow)
    assert surrogate.flow.dim == 6 and surrogate.flow.num_layers == 4
    feat = torch.randn(3, 8, 4, 4)
    z = surrogate(feat)
    assert z.shape == (3, 6)
    # a fresh flow is the identity, so z is the aggregated vector
    assert torch.allclose(z, surrogate.aggregator(feat))


def test_query_set_with_padding_mask():
    surrogate = TaskSurrogate(AGG)
    feat = torch.randn(2, 5, 8)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[:, 3:] = True
    assert torch.allclose(surrogate(feat, mask), surrogate(feat[:, :3]))


@pytest.mark.parametrize('num_layers,hidden_dim', [(6, None), (4, 20)])
def test_without_inv_has_same_width_and_depth(num_layers, hidden_dim):
    flow = dict(type='RealNVPFlow', num_layers=num_layers,
                hidden_dim=hidden_dim)
    inv = TaskSurrogate(AGG, flow=flow)
    plain = TaskSurrogate(AGG, flow=flow, invertible=False)
    assert isinstance(plain.flow, PlainMLP) and not plain.invertible

    assert len(plain.flow.layers) == len(inv.flow.layers) == num_layers
    coupling_widths = [layer.s[0].out_features for layer in inv.flow.layers]
    plain_widths = [block[0].out_features for block in plain.flow.layers]
    assert plain_widths == coupling_widths == [hidden_dim or 12] * num_layers
    # every block has one hidden layer, like the s/t MLPs of a coupling
    assert all(
        sum(isinstance(m, nn.Linear) for m in block) == 2
        for block in plain.flow.layers)
    assert all(
        sum(isinstance(m, nn.Linear) for m in layer.s) == 2
        for layer in inv.flow.layers)
    assert plain(torch.randn(2, 8, 3, 3)).shape == (2, 6)


def test_flow_dim_must_match_aggregator():
    with pytest.raises(ValueError, match=r'flow dim \(5\).*out_dim \(6\)'):
        TaskSurrogate(AGG, flow=dict(type='RealNVPFlow', dim=5))
