"""``SampledDCNv2``: mmcv's DCNv2 numbers from the grid_sample path, used
only off CUDA without gradients, with mmcv's parameters and keys."""
import pytest
import torch
from mmcv.ops import ModulatedDeformConv2dPack, modulated_deform_conv2d

from nexusflow.hosts.uniad import SampledDCNv2, sampled_deform_conv2d

# (in, out, kernel, stride, padding, dilation, groups, deform groups, bias)
CASES = [
    (8, 6, 3, 1, 1, 1, 1, 1, False),   # ResNet's DCN layer, small
    (8, 6, 3, 2, 1, 1, 1, 1, True),    # strided, with bias
    (8, 4, 3, 1, 2, 2, 2, 2, False),   # dilated, grouped, 2 offset groups
    (4, 4, (1, 3), 1, (0, 1), 1, 1, 1, True),  # non-square kernel
]


def conv_inputs(channels, out, kernel, stride, padding, dilation, groups,
                deform_groups, seed=0):
    """Input, offsets (many outside the image), mask and weights."""
    gen = torch.Generator().manual_seed(seed)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    height, width = 11, 14
    oh = (height + 2 * ph - dilation * (kh - 1) - 1) // stride + 1
    ow = (width + 2 * pw - dilation * (kw - 1) - 1) // stride + 1
    x = torch.randn(2, channels, height, width, generator=gen)
    offset = torch.randn(2, deform_groups * 2 * kh * kw, oh, ow,
                         generator=gen) * 4
    mask = torch.rand(2, deform_groups * kh * kw, oh, ow, generator=gen)
    weight = torch.randn(out, channels // groups, kh, kw, generator=gen)
    bias = torch.randn(out, generator=gen)
    return x, offset, mask, weight, bias


@pytest.mark.parametrize('case', CASES)
def test_sampled_columns_give_mmcv_numbers(case):
    channels, out, kernel, stride, padding, dilation, groups, dg, \
        with_bias = case
    x, offset, mask, weight, bias = conv_inputs(*case[:-1])
    bias = bias if with_bias else None
    ref = modulated_deform_conv2d(x, offset, mask, weight, bias, stride,
                                  padding, dilation, groups, dg)
    got = sampled_deform_conv2d(x, offset, mask, weight, bias, stride,
                                padding, dilation, groups, dg)
    assert got.shape == ref.shape
    assert torch.allclose(got, ref, atol=1e-5, rtol=1e-5)
    # Offsets matter: a shifted offset map changes the result.
    moved = sampled_deform_conv2d(x, offset + 0.5, mask, weight, bias,
                                  stride, padding, dilation, groups, dg)
    assert not torch.allclose(moved, ref, atol=1e-3)


def packed_pair(seed=0):
    """mmcv's DCNv2 and a SampledDCNv2 with its weights (offsets on)."""
    torch.manual_seed(seed)
    ref = ModulatedDeformConv2dPack(8, 8, 3, padding=1, bias=False)
    torch.nn.init.normal_(ref.conv_offset.weight, std=0.3)
    torch.nn.init.normal_(ref.conv_offset.bias, std=1.0)
    ours = SampledDCNv2(8, 8, 3, padding=1, bias=False)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ref, ours


def test_module_keeps_mmcv_keys_and_numbers(monkeypatch):
    ref, ours = packed_pair()
    assert isinstance(ours, ModulatedDeformConv2dPack)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(2, 8, 9, 13)
    calls = []

    def spy(*args, **kwargs):
        calls.append(1)
        return sampled_deform_conv2d(*args, **kwargs)

    monkeypatch.setattr('nexusflow.hosts.uniad.deform_conv.'
                        'sampled_deform_conv2d', spy)
    for param in ours.parameters():
        param.requires_grad_(False)
    with torch.no_grad():
        expected = ref(x)
    got = ours(x)  # frozen: no gradient recorded, the sampled path
    assert calls == [1]
    assert torch.allclose(got, expected, atol=1e-5)


def test_gradients_go_through_mmcv(monkeypatch):
    ref, ours = packed_pair()
    monkeypatch.setattr(
        'nexusflow.hosts.uniad.deform_conv.sampled_deform_conv2d',
        lambda *a, **k: pytest.fail('sampled path under autograd'))
    x = torch.randn(2, 8, 9, 13)
    ref(x).square().sum().backward()
    ours(x).square().sum().backward()
    assert torch.allclose(ours.weight.grad, ref.weight.grad, rtol=1e-5)
    assert torch.allclose(ours.conv_offset.weight.grad,
                          ref.conv_offset.weight.grad, rtol=1e-4, atol=1e-6)
