"""Multi-scale deformable-attention sampling: mmcv's CUDA kernel on CUDA, a
memory-bounded PyTorch path everywhere else.

mmcv's pure-PyTorch fallback samples every query at once and keeps the
``(bs * heads, dims, queries, levels * points)`` samples for the backward
pass: at UniAD's full size (6 cameras, ~10k visible BEV queries per camera,
4 levels x 8 points) that is ~2 GB per spatial cross-attention call, ~60 GB
for the 30 calls of a 5-frame clip. :class:`ChunkedDeformableSampling`
computes the same numbers over blocks of queries and keeps only its inputs,
recomputing one block at a time in the backward pass, as the CUDA kernel
does.
"""
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction
from torch import Tensor
from torch.autograd.function import once_differentiable

# Bytes of bilinear samples one block of queries may hold at once; the
# transient peak of a block is about three times this.
DEFAULT_BLOCK_BYTES = 64 * 2**20


def deformable_sample(value: Tensor, spatial_shapes: Tensor,
                      level_start_index: Tensor, sampling_locations: Tensor,
                      attention_weights: Tensor, im2col_step: int,
                      block_bytes: int = DEFAULT_BLOCK_BYTES) -> Tensor:
    """Multi-scale deformable attention sampling.

    CUDA tensors go to mmcv's kernel (as mmcv's own module does; mmcv must
    be built with its CUDA ops), in float32 when autocast hands it half
    precision (BEVFormer's fp32 kernel under fp16 training). Other devices
    use :class:`ChunkedDeformableSampling`, numerically mmcv's PyTorch
    version (``multi_scale_deformable_attn_pytorch``) with its memory
    bounded by ``block_bytes``.

    Args:
        value (Tensor): ``(bs, num_keys, num_heads, dims_per_head)``.
        spatial_shapes (Tensor): ``(num_levels, 2)`` as ``(h, w)``.
        level_start_index (Tensor): ``(num_levels, )``.
        sampling_locations (Tensor): ``(bs, num_queries, num_heads,
            num_levels, num_points, 2)`` in ``[0, 1]``.
        attention_weights (Tensor): ``(bs, num_queries, num_heads,
            num_levels, num_points)``.
        im2col_step (int): CUDA kernel step.
        block_bytes (int): CPU path: bytes of samples per block of
            queries.

    Returns:
        Tensor: ``(bs, num_queries, num_heads * dims_per_head)`` in the
        dtype of ``value``.
    """
    if value.is_cuda:
        dtype = value.dtype
        with torch.autocast('cuda', enabled=False):
            output = MultiScaleDeformableAttnFunction.apply(
                value.float(), spatial_shapes, level_start_index,
                sampling_locations.float(), attention_weights.float(),
                im2col_step)
        return output.to(dtype)
    shapes = tuple((int(h), int(w)) for h, w in spatial_shapes.tolist())
    return ChunkedDeformableSampling.apply(value, shapes, sampling_locations,
                                           attention_weights, block_bytes)


def _value_levels(value: Tensor, shapes: Sequence[Tuple[int, int]]
                  ) -> List[Tensor]:
    """``(bs, keys, heads, dims)`` -> per level ``(bs * heads, dims, h,
    w)``, the layout ``grid_sample`` reads."""
    bs, _, heads, dims = value.shape
    levels = value.split([h * w for h, w in shapes], dim=1)
    return [level.flatten(2).transpose(1, 2).reshape(bs * heads, dims, h, w)
            for level, (h, w) in zip(levels, shapes)]


def _sample_block(levels: Sequence[Tensor], locations: Tensor,
                  weights: Tensor) -> Tensor:
    """The attention output of one block of queries (mmcv's PyTorch
    arithmetic, op for op).

    Args:
        levels (Sequence[Tensor]): from :func:`_value_levels`.
        locations (Tensor): ``(bs, q, heads, levels, points, 2)``.
        weights (Tensor): ``(bs, q, heads, levels, points)``.

    Returns:
        Tensor: ``(bs, q, heads * dims)``.
    """
    bs, num_query, heads, num_levels, points, _ = locations.shape
    dims = levels[0].shape[1]
    grids = 2 * locations - 1
    samples = [
        F.grid_sample(level, grids[:, :, :, index].transpose(1, 2).flatten(
            0, 1), mode='bilinear', padding_mode='zeros',
                      align_corners=False)
        for index, level in enumerate(levels)
    ]
    weights = weights.transpose(1, 2).reshape(bs * heads, 1, num_query,
                                              num_levels * points)
    output = (torch.stack(samples, dim=-2).flatten(-2) * weights).sum(-1)
    return output.view(bs, heads * dims, num_query).transpose(1,
                                                              2).contiguous()


def _block_size(value: Tensor, locations: Tensor, block_bytes: int) -> int:
    """Queries per block so that one block's samples fit ``block_bytes``."""
    bs, _, heads, dims = value.shape
    per_query = bs * heads * dims * locations.shape[3] * \
        locations.shape[4] * 4  # sampled in float32
    return max(1, int(block_bytes) // per_query)


class ChunkedDeformableSampling(torch.autograd.Function):
    """Deformable sampling over blocks of queries (any device; used off
    CUDA).

    Forward: the value levels are laid out once; each block of queries is
    sampled and reduced on its own, so no more than ``block_bytes`` of
    samples exist at a time. Only the inputs are saved. Backward: each
    block is recomputed with gradients and differentiated on its own; the
    gradients of the value levels are summed over blocks. The arithmetic
    is float32 (half-precision inputs from autocast are cast up, the output
    cast back), as mmcv's fp32 kernel does for BEVFormer's fp16 runs.
    Outputs and gradients equal mmcv's ``multi_scale_deformable_attn_
    pytorch`` up to float rounding (each query is computed by the same
    operations; see the tests).
    """

    @staticmethod
    def forward(ctx, value: Tensor, shapes: Tuple[Tuple[int, int], ...],
                locations: Tensor, weights: Tensor,
                block_bytes: int) -> Tensor:
        """Samples ``value``; shapes as in :func:`deformable_sample`
        (``shapes``: ``(h, w)`` per level as ints)."""
        ctx.shapes, ctx.block_bytes = shapes, block_bytes
        ctx.dtypes = (value.dtype, locations.dtype, weights.dtype)
        ctx.save_for_backward(value, locations, weights)
        num_query = locations.shape[1]
        block = _block_size(value, locations, block_bytes)
        with torch.autocast(value.device.type, enabled=False):
            levels = _value_levels(value.float(), shapes)
            out = value.new_empty(value.shape[0], num_query,
                                  value.shape[2] * value.shape[3],
                                  dtype=torch.float32)
            for start in range(0, num_query, block):
                stop = start + block
                out[:, start:stop] = _sample_block(
                    levels, locations[:, start:stop].float(),
                    weights[:, start:stop].float())
        return out.to(value.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        """Gradients of ``value``, ``locations`` and ``weights``, one block
        at a time."""
        value, locations, weights = ctx.saved_tensors
        need_value, _, need_loc, need_weight, _ = ctx.needs_input_grad
        shapes = ctx.shapes
        num_query = locations.shape[1]
        block = _block_size(value, locations, ctx.block_bytes)
        grad_loc = torch.zeros_like(locations, dtype=torch.float32) \
            if need_loc else None
        grad_weight = torch.zeros_like(weights, dtype=torch.float32) \
            if need_weight else None
        with torch.enable_grad(), torch.autocast(value.device.type,
                                                 enabled=False):
            levels = [level.detach().requires_grad_(need_value)
                      for level in _value_levels(value.detach().float(),
                                                 shapes)]
            level_grads = [torch.zeros_like(level) for level in levels] \
                if need_value else []
            for start in range(0, num_query, block):
                stop = start + block
                loc = locations[:, start:stop].detach().float()
                wgt = weights[:, start:stop].detach().float()
                loc.requires_grad_(need_loc)
                wgt.requires_grad_(need_weight)
                out = _sample_block(levels, loc, wgt)
                inputs = (levels if need_value else []) + \
                    ([loc] if need_loc else []) + \
                    ([wgt] if need_weight else [])
                if not inputs:
                    break
                grads = list(torch.autograd.grad(
                    out, inputs, grad_out[:, start:stop].float(),
                    allow_unused=True))
                if need_value:
                    for total, grad in zip(level_grads, grads):
                        if grad is not None:
                            total += grad
                    grads = grads[len(levels):]
                if need_loc:
                    grad_loc[:, start:stop] = grads.pop(0)
                if need_weight:
                    grad_weight[:, start:stop] = grads.pop(0)
        grad_value = None
        if need_value:
            bs, _, heads, dims = value.shape
            grad_value = torch.cat([
                grad.view(bs, heads * dims, -1).transpose(1, 2)
                for grad in level_grads
            ], dim=1).reshape(value.shape).to(ctx.dtypes[0])
        if grad_loc is not None:
            grad_loc = grad_loc.to(ctx.dtypes[1])
        if grad_weight is not None:
            grad_weight = grad_weight.to(ctx.dtypes[2])
        return grad_value, None, grad_loc, grad_weight, None
