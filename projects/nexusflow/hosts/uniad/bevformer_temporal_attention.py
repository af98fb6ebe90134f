"""BEVFormer's temporal self-attention over a two-entry BEV value queue."""
import math
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .deformable_sampling import deformable_sample


def deformable_offset_init(offsets: nn.Linear, num_heads: int,
                           num_groups: int, num_points: int) -> None:
    """Deformable-DETR's offset initialisation: zero weights and a bias that
    puts point ``k`` of head ``m`` at ``(k + 1)`` cells in direction ``2 pi
    m / num_heads`` (scaled so the larger coordinate is 1).

    Args:
        offsets (nn.Linear): the sampling-offset layer, with ``num_heads x
            num_groups x num_points x 2`` outputs in that order.
        num_heads (int): attention heads.
        num_groups (int): levels (times queue entries) per head.
        num_points (int): points per group.
    """
    nn.init.zeros_(offsets.weight)
    angles = torch.arange(num_heads, dtype=torch.float32) * \
        (2.0 * math.pi / num_heads)
    direction = torch.stack([angles.cos(), angles.sin()], -1)
    direction = direction / direction.abs().max(-1, keepdim=True)[0]
    scale = torch.arange(1, num_points + 1, dtype=torch.float32)
    bias = direction[:, None, None, :] * scale[None, None, :, None]
    bias = bias.expand(num_heads, num_groups, num_points, 2)
    with torch.no_grad():
        offsets.bias.copy_(bias.reshape(-1))


@MODELS.register_module()
class BEVFormerTemporalSelfAttention(BaseModule):
    """BEVFormer's temporal self-attention (TSA).

    The value is a queue of two BEV maps per sample: ``[previous BEV
    (rotated into the current frame), current BEV queries]``, or ``[query,
    query]`` at the first frame. Sampling offsets and weights are predicted
    from ``concat(queue entry 0, query + query_pos)`` (``2 C`` wide) for
    both entries at once; each entry is sampled around its own reference
    points (one level, ``num_points`` per head, softmax over the points of
    one entry), the two results are averaged and projected.

    Layouts of the official ``TemporalSelfAttention`` (so its weights load
    unchanged): offsets ``(heads, queue, levels, points, 2)``, weights
    ``(heads, queue, levels x points)``.

    The official code takes ``value[:bs]`` as queue entry 0, which is the
    right tensor only for batch size 1 (UniAD's); here entry 0 is taken per
    sample, which is the same for batch size 1.

    Args:
        embed_dims (int): width. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_levels (int): BEV levels. Defaults to 1.
        num_points (int): sampling points per head and entry. Defaults
            to 4.
        num_bev_queue (int): queue length; BEVFormer's is 2. Defaults to 2.
        im2col_step (int): CUDA kernel step. Defaults to 64.
        dropout (float): dropout on the output. Defaults to 0.1.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_levels: int = 1,
                 num_points: int = 4,
                 num_bev_queue: int = 2,
                 im2col_step: int = 64,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'BEVFormerTemporalSelfAttention: embed_dims '
                             f'({embed_dims}) must be divisible by '
                             f'num_heads ({num_heads})')
        if num_bev_queue != 2:
            raise ValueError(f'BEVFormerTemporalSelfAttention: the queue '
                             f'holds [previous, current]; num_bev_queue must '
                             f'be 2, got {num_bev_queue}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_levels = num_levels
        self.num_points = num_points
        self.num_bev_queue = num_bev_queue
        self.im2col_step = im2col_step
        in_dims = embed_dims * num_bev_queue
        groups = num_bev_queue * num_heads * num_levels * num_points
        self.sampling_offsets = nn.Linear(in_dims, groups * 2)
        self.attention_weights = nn.Linear(in_dims, groups)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.output_proj = nn.Linear(embed_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)

    def init_weights(self) -> None:
        """The official initialisation: offsets on rays, uniform attention,
        Xavier-uniform projections with zero bias."""
        deformable_offset_init(self.sampling_offsets, self.num_heads,
                               self.num_bev_queue * self.num_levels,
                               self.num_points)
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        for layer in (self.value_proj, self.output_proj):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        self._is_init = True

    def forward(self, query: Tensor, query_pos: Tensor,
                value: Optional[Tensor], reference_points: Tensor,
                spatial_shapes: Tensor) -> Tensor:
        """Updates the BEV queries.

        Args:
            query (Tensor): ``(B, Q, C)`` BEV queries (also the residual).
            query_pos (Tensor): ``(B, Q, C)`` positional encoding.
            value (Tensor, optional): ``(B, 2, Q, C)`` value queue
                ``[previous BEV, current BEV queries]``; None for ``[query,
                query]`` (first frame).
            reference_points (Tensor): ``(B, 2, Q, 2)`` normalised ``(x,
                y)`` reference of each queue entry.
            spatial_shapes (Tensor): ``(num_levels, 2)`` long ``(h, w)`` of
                the BEV.

        Returns:
            Tensor: ``(B, Q, C)``, residual included.
        """
        batch, num_query, dims = query.shape
        queue = self.num_bev_queue
        if value is None:
            value = torch.stack([query, query], dim=1)
        if value.shape != (batch, queue, num_query, dims):
            raise ValueError(f'BEVFormerTemporalSelfAttention: value must be '
                             f'{(batch, queue, num_query, dims)}, got '
                             f'{tuple(value.shape)}')
        identity = query
        query = torch.cat([value[:, 0], query + query_pos], dim=-1)
        value = self.value_proj(value.flatten(0, 1)).view(
            batch * queue, num_query, self.num_heads, -1)
        heads, levels, points = (self.num_heads, self.num_levels,
                                 self.num_points)
        offsets = self.sampling_offsets(query).view(
            batch, num_query, heads, queue, levels, points, 2)
        weights = self.attention_weights(query).view(
            batch, num_query, heads, queue, levels * points).softmax(-1)
        weights = weights.view(batch, num_query, heads, queue, levels,
                               points).permute(0, 3, 1, 2, 4, 5).reshape(
                                   batch * queue, num_query, heads, levels,
                                   points).contiguous()
        offsets = offsets.permute(0, 3, 1, 2, 4, 5, 6).reshape(
            batch * queue, num_query, heads, levels, points, 2)
        normalizer = torch.stack(
            [spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
        ref = reference_points.reshape(batch * queue, num_query, 1, 2)
        locations = ref[:, :, None, :, None, :] + \
            offsets / normalizer[None, None, None, :, None, :]
        level_start = torch.cat([
            spatial_shapes.new_zeros(1),
            spatial_shapes.prod(1).cumsum(0)[:-1]
        ])
        output = deformable_sample(value, spatial_shapes, level_start,
                                   locations, weights, self.im2col_step)
        output = output.view(batch, queue, num_query, dims).mean(1)
        return self.dropout(self.output_proj(output)) + identity
