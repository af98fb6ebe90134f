"""BEVFormer's spatial cross-attention: BEV queries read the camera features
around their projected pillars."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .bevformer_temporal_attention import deformable_offset_init
from .deformable_sampling import deformable_sample


class PillarSamplingAttention(BaseModule):
    """Deformable sampling of one camera's feature levels around a pillar of
    reference points (the official ``MSDeformableAttention3D``).

    Each query has ``num_anchors`` image reference points (one per pillar
    height). Its ``num_points`` sampling points per head and level are
    viewed as ``(num_points // num_anchors, num_anchors)``: point ``p``
    belongs to anchor ``p % num_anchors``. Offsets are divided by the
    level's ``(w, h)``; the attention softmax runs over levels x points.
    There is no output projection: :class:`BEVFormerSpatialCrossAttention`
    projects after averaging over the cameras.

    Args:
        embed_dims (int): width. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_levels (int): camera feature levels. Defaults to 4.
        num_points (int): sampling points per head and level, a multiple of
            ``num_anchors``. Defaults to 8.
        num_anchors (int): reference points (heights) per query. Defaults
            to 4.
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
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads != 0:
            raise ValueError(f'PillarSamplingAttention: embed_dims '
                             f'({embed_dims}) must be divisible by '
                             f'num_heads ({num_heads})')
        if num_anchors < 1 or num_points % num_anchors != 0:
            raise ValueError(f'PillarSamplingAttention: num_points '
                             f'({num_points}) must be a positive multiple of '
                             f'num_anchors ({num_anchors})')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_levels = num_levels
        self.num_points = num_points
        self.num_anchors = num_anchors
        self.im2col_step = im2col_step
        groups = num_heads * num_levels * num_points
        self.sampling_offsets = nn.Linear(embed_dims, groups * 2)
        self.attention_weights = nn.Linear(embed_dims, groups)
        self.value_proj = nn.Linear(embed_dims, embed_dims)

    def init_weights(self) -> None:
        """The official initialisation (rays of offsets, uniform attention,
        Xavier-uniform value projection)."""
        deformable_offset_init(self.sampling_offsets, self.num_heads,
                               self.num_levels, self.num_points)
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.zeros_(self.value_proj.bias)
        self._is_init = True

    def forward(self, query: Tensor, value: Tensor, reference_points: Tensor,
                spatial_shapes: Tensor, level_start_index: Tensor) -> Tensor:
        """Samples ``value`` around each query's pillar.

        Args:
            query (Tensor): ``(bs, Q, C)``.
            value (Tensor): ``(bs, S, C)`` flattened feature levels.
            reference_points (Tensor): ``(bs, Q, num_anchors, 2)``
                normalised image ``(u, v)``.
            spatial_shapes (Tensor): ``(num_levels, 2)`` long ``(h, w)``.
            level_start_index (Tensor): ``(num_levels, )``.

        Returns:
            Tensor: ``(bs, Q, C)`` (no projection, no residual).
        """
        bs, num_query, _ = query.shape
        num_value = value.shape[1]
        heads, levels, points = (self.num_heads, self.num_levels,
                                 self.num_points)
        anchors = self.num_anchors
        if reference_points.shape != (bs, num_query, anchors, 2):
            raise ValueError(f'PillarSamplingAttention: reference_points must '
                             f'be {(bs, num_query, anchors, 2)}, got '
                             f'{tuple(reference_points.shape)}')
        value = self.value_proj(value).view(bs, num_value, heads, -1)
        offsets = self.sampling_offsets(query).view(bs, num_query, heads,
                                                    levels, points, 2)
        weights = self.attention_weights(query).view(
            bs, num_query, heads, levels * points).softmax(-1).view(
                bs, num_query, heads, levels, points)
        normalizer = torch.stack(
            [spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
        offsets = offsets / normalizer[None, None, None, :, None, :]
        offsets = offsets.view(bs, num_query, heads, levels,
                               points // anchors, anchors, 2)
        locations = reference_points[:, :, None, None, None] + offsets
        locations = locations.view(bs, num_query, heads, levels, points, 2)
        return deformable_sample(value, spatial_shapes, level_start_index,
                                 locations, weights, self.im2col_step)


@MODELS.register_module()
class BEVFormerSpatialCrossAttention(BaseModule):
    """BEVFormer's spatial cross-attention (SCA).

    For each camera, the BEV queries whose pillar has ANY point visible in
    that camera are gathered (padded to the longest camera), sample that
    camera's features (:class:`PillarSamplingAttention`), and are summed
    back; the sum is divided by the number of cameras that see the query
    (clamped to at least 1), projected (``output_proj``) and added to the
    input. The query carries no positional encoding here (as in the
    official encoder layer).

    The official code selects each camera's queries from the mask of batch
    element 0 for every sample; here each sample uses its own mask (the
    same for batch size 1).

    Args:
        embed_dims (int): width. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_levels (int): camera feature levels. Defaults to 4.
        num_points (int): sampling points per head and level. Defaults
            to 8.
        num_anchors (int): pillar points per query. Defaults to 4.
        im2col_step (int): CUDA kernel step. Defaults to 64.
        dropout (float): dropout on the output. Defaults to 0.1.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_levels: int = 4,
                 num_points: int = 8,
                 num_anchors: int = 4,
                 im2col_step: int = 64,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.deformable_attention = PillarSamplingAttention(
            embed_dims, num_heads, num_levels, num_points, num_anchors,
            im2col_step)
        self.output_proj = nn.Linear(embed_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)

    def init_weights(self) -> None:
        """Xavier-uniform output projection, then the sampling layers."""
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)
        self.deformable_attention.init_weights()
        self._is_init = True

    def forward(self, query: Tensor, value: Tensor, reference_points: Tensor,
                bev_mask: Tensor, spatial_shapes: Tensor,
                level_start_index: Tensor) -> Tensor:
        """Updates the BEV queries from the cameras.

        Args:
            query (Tensor): ``(B, Q, C)`` BEV queries (also the residual).
            value (Tensor): ``(B, N, S, C)`` flattened feature levels of the
                ``N`` cameras.
            reference_points (Tensor): ``(B, N, Q, D, 2)`` normalised image
                positions of each query's ``D`` pillar points.
            bev_mask (Tensor): ``(B, N, Q, D)`` bool visibility.
            spatial_shapes (Tensor): ``(L, 2)`` long ``(h, w)``.
            level_start_index (Tensor): ``(L, )``.

        Returns:
            Tensor: ``(B, Q, C)``, residual included.
        """
        batch, num_query, dims = query.shape
        num_cams = value.shape[1]
        device = query.device
        seen = bev_mask.any(-1).flatten(0, 1)  # (B*N, Q)
        lengths = seen.sum(-1)
        max_len = max(int(lengths.max()), 1) if seen.numel() else 1
        # Visible queries of each (sample, camera) first, in query order.
        order = torch.sort(seen.to(torch.int8), dim=-1, descending=True,
                           stable=True).indices[:, :max_len]
        valid = torch.arange(max_len, device=device)[None] < lengths[:, None]
        rows = torch.arange(batch * num_cams, device=device)[:, None]
        sample = torch.div(rows, num_cams, rounding_mode='floor')
        query_index = sample * num_query + order  # into (B*Q)
        rebatched = query.reshape(batch * num_query, dims)[query_index]
        rebatched = rebatched * valid[..., None]
        ref = reference_points.flatten(0, 1)[rows, order]
        out = self.deformable_attention(rebatched, value.flatten(0, 1), ref,
                                        spatial_shapes, level_start_index)
        slots = query.new_zeros(batch * num_query, dims).index_add(
            0, query_index[valid], out[valid])
        count = seen.view(batch, num_cams, num_query).sum(1).clamp(min=1)
        slots = slots.view(batch, num_query, dims) / count[..., None]
        return self.dropout(self.output_proj(slots)) + query
