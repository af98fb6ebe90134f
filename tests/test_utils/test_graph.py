"""graph_zero: an exact zero with a gradient path to everything given."""
import pytest
import torch
from torch import nn

from nexusflow.utils.graph import graph_zero


def test_bit_identical_to_the_plain_product():
    for x in (torch.randn(3, 4), -torch.ones(2), torch.tensor([-0.0])):
        x = x.requires_grad_()
        zero, plain = graph_zero(x), x.sum() * 0.0
        assert zero.dim() == 0 and zero.item() == 0.0
        # Same sign of zero as well.
        assert torch.equal(zero.view(1).view(torch.int32),
                           plain.view(1).view(torch.int32))


def test_every_parameter_gets_a_zero_gradient():
    a, b = nn.Linear(3, 2), nn.Linear(2, 1)
    x = torch.randn(4, requires_grad=True)
    graph_zero(a, x, b.parameters()).backward()
    grads = [p.grad for m in (a, b) for p in m.parameters()] + [x.grad]
    assert all(g is not None and not g.any() for g in grads)


def test_non_finite_inputs_stay_visible():
    assert graph_zero(torch.tensor([float('inf')])).isnan()


def test_nothing_to_tie_fails():
    with pytest.raises(ValueError, match='nothing to keep in the graph'):
        graph_zero(nn.ReLU())
