"""mmcv's deformable-attention sampling kernel on CPU and CUDA."""
from mmcv.ops.multi_scale_deform_attn import (
    MultiScaleDeformableAttnFunction, multi_scale_deformable_attn_pytorch)
from torch import Tensor


def deformable_sample(value: Tensor, spatial_shapes: Tensor,
                      level_start_index: Tensor, sampling_locations: Tensor,
                      attention_weights: Tensor, im2col_step: int) -> Tensor:
    """mmcv's deformable attention kernel: the CUDA op on CUDA tensors (as
    mmcv's own module does; mmcv must be built with its CUDA ops), the pure
    PyTorch version otherwise.

    Args:
        value (Tensor): ``(bs, num_keys, num_heads, dims_per_head)``.
        spatial_shapes (Tensor): ``(num_levels, 2)`` as ``(h, w)``.
        level_start_index (Tensor): ``(num_levels, )``.
        sampling_locations (Tensor): ``(bs, num_queries, num_heads,
            num_levels, num_points, 2)`` in ``[0, 1]``.
        attention_weights (Tensor): ``(bs, num_queries, num_heads,
            num_levels, num_points)``.
        im2col_step (int): CUDA kernel step.

    Returns:
        Tensor: ``(bs, num_queries, num_heads * dims_per_head)``.
    """
    if value.is_cuda:
        return MultiScaleDeformableAttnFunction.apply(
            value, spatial_shapes, level_start_index, sampling_locations,
            attention_weights, im2col_step)
    return multi_scale_deformable_attn_pytorch(value, spatial_shapes,
                                               sampling_locations,
                                               attention_weights)
