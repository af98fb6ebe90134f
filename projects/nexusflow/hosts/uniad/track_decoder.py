"""DETR-style decoder layer of the track head, reading the BEV."""
from mmcv.cnn.bricks.transformer import FFN
from mmcv.ops import MultiScaleDeformableAttention
from mmengine.model import BaseModule
from torch import Tensor, nn


class TrackDecoderLayer(BaseModule):
    """Self-attention among the queries, deformable cross-attention into the
    BEV around each query's reference point, FFN; each followed by
    LayerNorm.

    Args:
        embed_dims (int): width.
        num_heads (int): attention heads.
        num_points (int): BEV sampling points per head.
        ffn_dims (int): FFN hidden width.
        dropout (float): dropout rate.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_points: int,
                 ffn_dims: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.cross_attn = MultiScaleDeformableAttention(
            embed_dims=embed_dims, num_heads=num_heads, num_levels=1,
            num_points=num_points, dropout=dropout, batch_first=True)
        self.ffn = FFN(embed_dims=embed_dims, feedforward_channels=ffn_dims,
                       ffn_drop=dropout)
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))

    def forward(self, query: Tensor, query_pos: Tensor, bev: Tensor,
                reference_points: Tensor, bev_shape: Tensor) -> Tensor:
        """One decoder layer.

        Args:
            query (Tensor): ``(B, Q, C)``.
            query_pos (Tensor): ``(B, Q, C)``.
            bev (Tensor): ``(B, H*W, C)`` flattened BEV.
            reference_points (Tensor): ``(B, Q, 2)`` normalised BEV ``(x,
                y)``.
            bev_shape (Tensor): ``[[H, W]]`` (long).

        Returns:
            Tensor: ``(B, Q, C)``.
        """
        q = query + query_pos
        attended = self.self_attn(q, q, query, need_weights=False)[0]
        query = self.norms[0](query + self.dropout(attended))
        query = self.norms[1](self.cross_attn(
            query, value=bev, query_pos=query_pos,
            reference_points=reference_points[:, :, None],
            spatial_shapes=bev_shape,
            level_start_index=bev_shape.new_zeros(1)))
        return self.norms[2](self.ffn(query))
