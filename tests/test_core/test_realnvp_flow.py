import pytest
import torch

from nexusflow.core import RealNVPFlow


def random_flow(dim, num_layers=6, dtype=torch.float32, std=0.3, seed=0,
                last_only=False, **kwargs):
    """A non-identity flow: random ``s``/``t`` weights.

    ``last_only`` perturbs only the zero-initialised last layers (the
    hidden layers keep PyTorch's default init), like a flow after some
    training.
    """
    torch.manual_seed(seed)
    flow = RealNVPFlow(dim, num_layers=num_layers, **kwargs).to(dtype)
    with torch.no_grad():
        for layer in flow.layers:
            for net in (layer.s, layer.t):
                linears = [net[-1]] if last_only else [net[0], net[-1]]
                for linear in linears:
                    linear.weight.normal_(0, std)
                    linear.bias.normal_(0, std)
    return flow


def relative_error(a, b):
    return ((a - b).norm() / b.norm()).item()


def test_fresh_flow_is_identity():
    flow = RealNVPFlow(7)
    x = torch.randn(4, 7)
    assert torch.equal(flow(x), x)
    assert torch.equal(flow.log_det(x), torch.zeros(4))


@pytest.mark.parametrize('dim', [5, 8])
@pytest.mark.parametrize('dtype,tol', [(torch.float32, 1e-5),
                                       (torch.float64, 1e-10)])
def test_inverse_recovers_input_up_to_1e3(dim, dtype, tol):
    flow = random_flow(dim, dtype=dtype, std=0.05, last_only=True)
    x = (torch.rand(64, dim, dtype=dtype) * 2 - 1) * 1e3
    x[0] = 1e3  # the largest magnitude the contract covers
    x[1] = 1e-3  # and a tiny one
    with torch.no_grad():
        z = flow(x)
        assert relative_error(z, x) > 0.1, 'the test flow must not be id'
        assert relative_error(flow.inverse(z), x) <= tol


@pytest.mark.parametrize('dim', [3, 4])
def test_log_det_matches_autograd_jacobian(dim):
    flow = random_flow(dim, num_layers=3, dtype=torch.float64)
    for x in torch.randn(3, dim, dtype=torch.float64):
        jac = torch.autograd.functional.jacobian(flow, x)
        expected = torch.linalg.slogdet(jac)[1]
        assert torch.allclose(flow.log_det(x), expected, atol=1e-10)


def test_log_det_is_per_sample_and_matches_forward():
    flow = random_flow(6)
    x = torch.randn(5, 6)
    z, log_det = flow.forward_and_log_det(x)
    assert log_det.shape == (5, )
    assert torch.equal(z, flow(x))
    assert torch.allclose(log_det, flow.log_det(x))


def test_scale_stays_finite_for_huge_inputs():
    flow = random_flow(4, num_layers=2, scale_clamp=1.5)
    with torch.no_grad():
        for layer in flow.layers:
            layer.s[-1].weight.mul_(1e4)
        x = torch.full((2, 4), 1e6)
        log_det = flow.log_det(x)
    assert torch.isfinite(log_det).all()
    # each layer scales 2 coordinates by at most exp(1.5)
    assert (log_det.abs() <= 2 * 2 * 1.5 + 1e-4).all()


def test_gradients_reach_every_layer():
    flow = random_flow(5, num_layers=2)
    flow(torch.randn(3, 5)).pow(2).sum().backward()
    for name, param in flow.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_bad_arguments():
    with pytest.raises(ValueError, match='dim >= 2'):
        RealNVPFlow(1)
    with pytest.raises(ValueError, match='num_layers'):
        RealNVPFlow(4, num_layers=0)
    with pytest.raises(ValueError, match=r'\(\.\.\., 4\)'):
        RealNVPFlow(4)(torch.zeros(2, 3))
