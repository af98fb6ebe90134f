"""BEV queries read the multi-camera features at their projected pillars."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .pillar_attention import PillarDeformableAttention


@MODELS.register_module()
class SpatialCrossAttention(BaseModule):
    """BEVFormer-style spatial cross-attention.

    Every BEV query owns a pillar of 3D points projected into each camera.
    Per camera only the queries whose pillar hits the image are gathered
    ("rebatched", padded to the longest camera), so the attention cost
    follows the hits rather than ``cameras x queries``. Each hit query
    samples that camera's feature levels around its projected pillar
    (:class:`PillarDeformableAttention`); results are averaged over the
    cameras it hits. Queries that hit no camera keep their input.

    Args:
        embed_dims (int): width. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_levels (int): camera feature levels. Defaults to 4.
        num_points (int): sampling points per head and level. Defaults to 8.
        num_anchors (int): pillar heights. Defaults to 4.
        dropout (float): dropout on the attention output. Defaults to 0.1.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_levels: int = 4,
                 num_points: int = 8,
                 num_anchors: int = 4,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.attn = PillarDeformableAttention(
            embed_dims=embed_dims, num_heads=num_heads,
            num_levels=num_levels, num_points=num_points,
            num_anchors=num_anchors)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: Tensor, query_pos: Tensor, value: Tensor,
                reference_points: Tensor, hit_mask: Tensor,
                spatial_shapes: Tensor,
                level_start_index: Tensor) -> Tensor:
        """Updates the BEV queries from the camera features.

        Args:
            query (Tensor): ``(B, Q, C)`` BEV queries.
            query_pos (Tensor): ``(B, Q, C)`` positional encoding.
            value (Tensor): ``(B, N, S, C)`` flattened feature levels of the
                ``N`` cameras.
            reference_points (Tensor): ``(B, N, Q, D, 2)`` normalised image
                positions of each query's ``D`` pillar points.
            hit_mask (Tensor): ``(B, N, Q, D)`` bool, True where a pillar
                point projects inside the image in front of the camera.
            spatial_shapes (Tensor): ``(L, 2)`` feature level sizes.
            level_start_index (Tensor): ``(L, )``.

        Returns:
            Tensor: ``(B, Q, C)``, residual included.
        """
        batch, num_query, dims = query.shape
        num_cams = value.shape[1]
        hits = hit_mask.any(-1).flatten(0, 1)  # (B*N, Q)
        lengths = hits.sum(-1)
        max_len = max(int(lengths.max()), 1)
        # Hit queries of each (sample, camera) first, then padding; `order`
        # indexes the queries of the same sample.
        order = torch.sort(hits.to(torch.int8), dim=-1, descending=True,
                           stable=True).indices[:, :max_len]
        valid = torch.arange(max_len, device=query.device)[None] < \
            lengths[:, None]
        sample = torch.arange(batch * num_cams, device=query.device) \
            .div(num_cams, rounding_mode='floor')
        flat_query = (query + query_pos).reshape(batch * num_query, dims)
        query_index = sample[:, None] * num_query + order
        rebatched = flat_query[query_index]
        ref = reference_points.flatten(0, 1)
        ref = ref[torch.arange(batch * num_cams, device=query.device)[:, None],
                  order]
        out = self.attn(rebatched, value.flatten(0, 1), ref, spatial_shapes,
                        level_start_index)
        slots = query.new_zeros(batch * num_query, dims).index_add(
            0, query_index[valid], out[valid])
        counts = hits.view(batch, num_cams, num_query).sum(1).clamp(min=1)
        slots = slots.view(batch, num_query, dims) / counts[..., None]
        return self.dropout(slots) + query
