"""Deformable attention of BEV pillars into camera features."""
from typing import Optional

import torch
from mmcv.ops import MultiScaleDeformableAttention
from mmcv.ops.multi_scale_deform_attn import (
    MultiScaleDeformableAttnFunction, multi_scale_deformable_attn_pytorch)
from torch import Tensor

from mmdet3d.registry import MODELS


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


@MODELS.register_module()
class PillarDeformableAttention(MultiScaleDeformableAttention):
    """mmcv ``MultiScaleDeformableAttention`` with a pillar of reference
    points per query (BEVFormer's spatial cross-attention kernel).

    Each query carries ``num_anchors`` image reference points, one per pillar
    height; its ``num_points`` sampling points per head and level are split
    evenly among them. The layers (value, offset, weight and output
    projections) and their initialisation are mmcv's. Unlike the parent, the
    output has no dropout or residual: the caller averages over cameras
    first.

    Args:
        embed_dims (int): attention width. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_levels (int): feature levels. Defaults to 4.
        num_points (int): sampling points per head and level, a multiple of
            ``num_anchors``. Defaults to 8.
        num_anchors (int): reference points per query. Defaults to 4.
        im2col_step (int): CUDA kernel step. Defaults to 64.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_levels: int = 4,
                 num_points: int = 8,
                 num_anchors: int = 4,
                 im2col_step: int = 64,
                 init_cfg: Optional[dict] = None) -> None:
        if num_anchors < 1 or num_points % num_anchors != 0:
            raise ValueError(f'PillarDeformableAttention: num_points '
                             f'({num_points}) must be a positive multiple of '
                             f'num_anchors ({num_anchors})')
        super().__init__(
            embed_dims=embed_dims, num_heads=num_heads,
            num_levels=num_levels, num_points=num_points,
            im2col_step=im2col_step, dropout=0.0, batch_first=True,
            init_cfg=init_cfg)
        self.num_anchors = num_anchors

    def forward(self,
                query: Tensor,
                value: Tensor,
                reference_points: Tensor,
                spatial_shapes: Tensor,
                level_start_index: Tensor,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Samples ``value`` around each query's reference pillar.

        Args:
            query (Tensor): ``(bs, num_queries, embed_dims)``, positional
                encoding already added.
            value (Tensor): ``(bs, num_keys, embed_dims)``, the flattened
                feature levels.
            reference_points (Tensor): ``(bs, num_queries, num_anchors, 2)``
                normalised ``(x, y)`` image positions, shared by all levels.
            spatial_shapes (Tensor): ``(num_levels, 2)`` as ``(h, w)``.
            level_start_index (Tensor): ``(num_levels, )``.
            key_padding_mask (Tensor, optional): ``(bs, num_keys)`` bool,
                True for keys to ignore.

        Returns:
            Tensor: ``(bs, num_queries, embed_dims)``.
        """
        bs, num_query, _ = query.shape
        num_value = value.shape[1]
        if reference_points.shape[:3] != (bs, num_query, self.num_anchors):
            raise ValueError(
                f'PillarDeformableAttention: reference_points must be '
                f'({bs}, {num_query}, {self.num_anchors}, 2), got '
                f'{tuple(reference_points.shape)}')
        value = self.value_proj(value)
        if key_padding_mask is not None:
            value = value.masked_fill(key_padding_mask[..., None], 0.0)
        value = value.view(bs, num_value, self.num_heads, -1)
        offsets = self.sampling_offsets(query).view(
            bs, num_query, self.num_heads, self.num_levels, self.num_points,
            2)
        weights = self.attention_weights(query).view(
            bs, num_query, self.num_heads,
            self.num_levels * self.num_points).softmax(-1).view(
                bs, num_query, self.num_heads, self.num_levels,
                self.num_points)
        normalizer = torch.stack(
            [spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
        offsets = offsets / normalizer[None, None, None, :, None, :]
        per_anchor = self.num_points // self.num_anchors
        offsets = offsets.view(bs, num_query, self.num_heads,
                               self.num_levels, per_anchor,
                               self.num_anchors, 2)
        locations = reference_points[:, :, None, None, None] + offsets
        locations = locations.reshape(bs, num_query, self.num_heads,
                                      self.num_levels, self.num_points, 2)
        output = deformable_sample(value, spatial_shapes, level_start_index,
                                   locations, weights, self.im2col_step)
        return self.output_proj(output)
