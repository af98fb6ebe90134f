"""Attention aggregator: a few learned queries read a feature map (deformable
attention) or a query set (attention pooling) into a fixed vector."""
from typing import Optional

import torch
from mmcv.ops import MultiScaleDeformableAttention
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ..utils.graph import graph_zero
from .feature_utils import check_feature


@MODELS.register_module()
class DeformableAggregator(BaseModule):
    """Learned queries attend to the input; their outputs form the vector.

    For a (B, C, H, W) map each query owns a learned reference point and
    samples ``num_points`` locations per head with mmcv's
    ``MultiScaleDeformableAttention`` (one level). For a (B, Q, C) query set
    the queries pool the set with ``nn.MultiheadAttention``. The query
    outputs are normalised, concatenated and projected to ``out_dim``.

    Args:
        in_channels (int): channels C of the input; the attention width.
            Must be divisible by ``num_heads``.
        out_dim (int): size of the output vector.
        num_queries (int): number of learned queries. Defaults to 4.
        num_heads (int): attention heads. Defaults to 8.
        num_points (int): sampling points per head and query for maps.
            Defaults to 4.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_dim: int,
                 num_queries: int = 4,
                 num_heads: int = 8,
                 num_points: int = 4,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels % num_heads != 0:
            raise ValueError(f'DeformableAggregator: in_channels '
                             f'({in_channels}) must be divisible by num_heads '
                             f'({num_heads})')
        self.in_channels = in_channels
        self.out_dim = out_dim
        self.num_queries = num_queries
        self.query = nn.Embedding(num_queries, in_channels)
        self.reference_points = nn.Linear(in_channels, 2)
        self.map_attn = MultiScaleDeformableAttention(
            embed_dims=in_channels, num_heads=num_heads, num_levels=1,
            num_points=num_points, dropout=0.0, batch_first=True)
        self.set_attn = nn.MultiheadAttention(
            in_channels, num_heads, batch_first=True)
        self.norm = nn.LayerNorm(in_channels)
        self.proj = nn.Linear(num_queries * in_channels, out_dim)

    def _read_map(self, feat: Tensor, query: Tensor) -> Tensor:
        batch, _, height, width = feat.shape
        value = feat.flatten(2).transpose(1, 2)
        ref = self.reference_points(query).sigmoid().unsqueeze(2)
        shapes = torch.tensor([[height, width]], device=feat.device)
        start = shapes.new_zeros(1)
        # The deformable attention adds the query back (residual).
        return self.map_attn(
            query, value=value, reference_points=ref, spatial_shapes=shapes,
            level_start_index=start)

    def _read_set(self, feat: Tensor, query: Tensor,
                  padding_mask: Optional[Tensor]) -> Tensor:
        empty = None
        if padding_mask is not None:
            padding_mask = padding_mask.bool()
            empty = padding_mask.all(dim=1)
            # A fully padded set would give NaN weights; let it attend to
            # everything and discard the result below.
            padding_mask = padding_mask & ~empty.unsqueeze(1)
        out, _ = self.set_attn(
            query, feat, feat, key_padding_mask=padding_mask,
            need_weights=False)
        if empty is not None:
            out = out.masked_fill(empty.view(-1, 1, 1), 0.0)
        return query + out

    @staticmethod
    def _zero_tie(*modules: nn.Module) -> Tensor:
        # Exact zero that keeps the idle branch's parameters in the graph, so
        # DDP without find_unused_parameters sees every parameter used.
        return graph_zero(*modules)

    def forward(self, feat: Tensor,
                padding_mask: Optional[Tensor] = None) -> Tensor:
        """Aggregates a feature to a vector.

        Args:
            feat (Tensor): (B, C, H, W) map or (B, Q, C) query set.
            padding_mask (Tensor, optional): (B, Q) bool, True marks padded
                queries to ignore; only for query sets.

        Returns:
            Tensor: (B, out_dim).
        """
        kind = check_feature('DeformableAggregator', feat, self.in_channels,
                             padding_mask)
        query = self.query.weight.unsqueeze(0).expand(feat.shape[0], -1, -1)
        if kind == 'map':
            out = self._read_map(feat, query)
            idle = (self.set_attn, )
        else:
            out = self._read_set(feat, query, padding_mask)
            idle = (self.map_attn, self.reference_points)
        out = self.proj(self.norm(out).flatten(1))
        return out + self._zero_tie(*idle)
