"""Modulated deformable convolution (DCNv2) with a faster PyTorch path for
frozen backbones off CUDA.

UniAD's ResNet-101-DCN is frozen in stage 1, so its DCN layers run without
gradients. mmcv's CPU op builds the deformable im2col one kernel tap at a
time in scalar loops; at 6 cameras of 1600 x 900 the 26 DCN layers take
most of a backbone pass. :func:`sampled_deform_conv2d` builds the same
columns with one ``grid_sample`` per layer and multiplies them with the
weights in one matmul (about 2x faster on CPU, same numbers to float
rounding). It keeps the whole column tensor, so it is used only where no
gradient is recorded; CUDA and training keep mmcv's op.
"""
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmcv.ops import ModulatedDeformConv2dPack
from torch import Tensor
from torch.nn.modules.utils import _pair

from mmdet3d.registry import MODELS

Pair = Union[int, Tuple[int, int]]


def sampled_deform_conv2d(x: Tensor, offset: Tensor, mask: Tensor,
                          weight: Tensor, bias: Optional[Tensor] = None,
                          stride: Pair = 1, padding: Pair = 0,
                          dilation: Pair = 1, groups: int = 1,
                          deform_groups: int = 1) -> Tensor:
    """mmcv's ``modulated_deform_conv2d`` computed with ``grid_sample``.

    Args:
        x (Tensor): ``(N, C, H, W)``.
        offset (Tensor): ``(N, deform_groups * 2 * kh * kw, oh, ow)``, per
            kernel tap ``(dy, dx)`` in pixels (mmcv's layout).
        mask (Tensor): ``(N, deform_groups * kh * kw, oh, ow)``.
        weight (Tensor): ``(C_out, C / groups, kh, kw)``.
        bias (Tensor, optional): ``(C_out, )``.
        stride, padding, dilation (int | tuple[int, int]): as ``conv2d``.
        groups (int): convolution groups.
        deform_groups (int): offset groups over the input channels.

    Returns:
        Tensor: ``(N, C_out, oh, ow)``.
    """
    n, channels, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), \
        _pair(dilation)
    oh, ow = offset.shape[-2:]
    taps = kh * kw
    offset = offset.view(n, deform_groups, taps, 2, oh, ow)
    rows = torch.arange(oh, dtype=x.dtype, device=x.device) * sh - ph
    cols = torch.arange(ow, dtype=x.dtype, device=x.device) * sw - pw
    tap_rows = (torch.arange(kh, dtype=x.dtype, device=x.device) *
                dh).repeat_interleave(kw).view(1, 1, taps, 1, 1)
    tap_cols = (torch.arange(kw, dtype=x.dtype, device=x.device) *
                dw).repeat(kh).view(1, 1, taps, 1, 1)
    py = rows.view(1, 1, 1, oh, 1) + tap_rows + offset[:, :, :, 0]
    px = cols.view(1, 1, 1, 1, ow) + tap_cols + offset[:, :, :, 1]
    # align_corners=True maps pixel i to -1 + 2 i / (size - 1); zero
    # padding drops out-of-image corners as mmcv's bilinear does.
    grid = torch.stack((px * (2 / max(width - 1, 1)) - 1,
                        py * (2 / max(height - 1, 1)) - 1), dim=-1)
    columns = F.grid_sample(
        x.reshape(n * deform_groups, channels // deform_groups, height,
                  width),
        grid.view(n * deform_groups, taps * oh, ow, 2), mode='bilinear',
        padding_mode='zeros', align_corners=True)
    columns = columns.view(n, deform_groups, channels // deform_groups,
                           taps, oh, ow) * mask.view(n, deform_groups, 1,
                                                     taps, oh, ow)
    columns = columns.view(n, groups, channels // groups * taps, oh * ow)
    out = torch.matmul(weight.view(groups, out_channels // groups, -1),
                       columns).view(n, out_channels, oh, ow)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


@MODELS.register_module()
class SampledDCNv2(ModulatedDeformConv2dPack):
    """mmcv's ``DCNv2`` (same parameters and checkpoint keys) that runs
    :func:`sampled_deform_conv2d` off CUDA when no gradient is recorded.

    Config: ``dcn=dict(type='mmdet3d.SampledDCNv2', deform_groups=1)`` in
    an ``mmdet.ResNet``.
    """

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        """Deformable convolution of ``x`` ``(N, C, H, W)``."""
        needs_grad = torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for p in self.parameters()))
        if x.is_cuda or needs_grad:
            return super().forward(x)
        out = self.conv_offset(x)
        dy_dx_a, dy_dx_b, mask = torch.chunk(out, 3, dim=1)
        return sampled_deform_conv2d(
            x, torch.cat((dy_dx_a, dy_dx_b), dim=1), torch.sigmoid(mask),
            self.weight, self.bias, self.stride, self.padding, self.dilation,
            self.groups, self.deform_groups)


__all__ = ['SampledDCNv2', 'sampled_deform_conv2d']
