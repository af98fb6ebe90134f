"""BEV self-attention over the current queries and the previous BEV."""
from typing import Optional

import torch
from mmcv.ops import MultiScaleDeformableAttention
from mmengine.model import BaseModule
from torch import Tensor

from mmdet3d.registry import MODELS


@MODELS.register_module()
class TemporalSelfAttention(BaseModule):
    """BEVFormer-style temporal self-attention with mmcv's deformable
    attention (one level).

    Each BEV query samples two values around its own cell: the previous BEV
    (already warped into the current frame by ego motion) and the current
    queries; the two results are averaged. The previous and current halves
    run as one batch of ``2B``, so they share the sampling network. Without
    a previous BEV (first frame of a scene) both values are the current
    queries, which is plain deformable self-attention.

    Args:
        embed_dims (int): width. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_points (int): sampling points per head. Defaults to 4.
        dropout (float): dropout on the attention output. Defaults to 0.1.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_points: int = 4,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.attn = MultiScaleDeformableAttention(
            embed_dims=embed_dims, num_heads=num_heads, num_levels=1,
            num_points=num_points, dropout=dropout, batch_first=True)

    def forward(self, query: Tensor, query_pos: Tensor,
                prev_bev: Optional[Tensor], reference_points: Tensor,
                bev_shape: Tensor) -> Tensor:
        """Updates the BEV queries.

        Args:
            query (Tensor): ``(B, H*W, C)`` BEV queries.
            query_pos (Tensor): ``(B, H*W, C)`` positional encoding.
            prev_bev (Tensor, optional): ``(B, H*W, C)`` previous BEV aligned
                to the current frame.
            reference_points (Tensor): ``(H*W, 2)`` normalised cell centres
                ``(x, y)``.
            bev_shape (Tensor): ``[[H, W]]`` (long).

        Returns:
            Tensor: ``(B, H*W, C)``, residual included.
        """
        batch = query.shape[0]
        start = bev_shape.new_zeros(1)
        if prev_bev is None:
            ref = reference_points[None, :, None].expand(batch, -1, 1, -1)
            return self.attn(query, value=query, query_pos=query_pos,
                             reference_points=ref, spatial_shapes=bev_shape,
                             level_start_index=start)
        ref = reference_points[None, :, None].expand(2 * batch, -1, 1, -1)
        both = self.attn(
            torch.cat([query, query]),
            value=torch.cat([prev_bev, query]),
            query_pos=torch.cat([query_pos, query_pos]),
            reference_points=ref, spatial_shapes=bev_shape,
            level_start_index=start)
        return (both[:batch] + both[batch:]) / 2
