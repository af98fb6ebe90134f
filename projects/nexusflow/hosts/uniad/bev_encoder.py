"""BEVFormer-style encoder: multi-camera features -> a LiDAR-aligned BEV."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.layers import LearnedPositionalEncoding
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .bev_alignment import bev_cell_centers, warp_bev
from .spatial_cross_attention import SpatialCrossAttention
from .temporal_self_attention import TemporalSelfAttention


class BEVEncoderLayer(BaseModule):
    """Temporal self-attention, spatial cross-attention and an FFN, each
    followed by LayerNorm (BEVFormer's operation order).

    Args:
        embed_dims (int): width.
        num_heads (int): attention heads.
        num_levels (int): camera feature levels.
        num_anchors (int): pillar heights.
        tsa_points (int): sampling points of the temporal attention.
        sca_points (int): sampling points per level of the cross-attention.
        ffn_dims (int): hidden width of the FFN.
        dropout (float): dropout rate.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_levels: int,
                 num_anchors: int, tsa_points: int, sca_points: int,
                 ffn_dims: int, dropout: float) -> None:
        super().__init__()
        self.temporal_attn = TemporalSelfAttention(
            embed_dims, num_heads, tsa_points, dropout)
        self.spatial_attn = SpatialCrossAttention(
            embed_dims, num_heads, num_levels, sca_points, num_anchors,
            dropout)
        self.ffn = FFN(embed_dims=embed_dims, feedforward_channels=ffn_dims,
                       ffn_drop=dropout)
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))

    def forward(self, bev: Tensor, bev_pos: Tensor, prev_bev: Optional[Tensor],
                ref_2d: Tensor, bev_shape: Tensor, value: Tensor,
                ref_cam: Tensor, hit_mask: Tensor, spatial_shapes: Tensor,
                level_start_index: Tensor) -> Tensor:
        """One encoder layer; see :class:`UniADBEVEncoder` for shapes."""
        bev = self.norms[0](self.temporal_attn(bev, bev_pos, prev_bev,
                                               ref_2d, bev_shape))
        bev = self.norms[1](self.spatial_attn(bev, bev_pos, value, ref_cam,
                                              hit_mask, spatial_shapes,
                                              level_start_index))
        return self.norms[2](self.ffn(bev))


@MODELS.register_module()
class UniADBEVEncoder(BaseModule):
    """Learned BEV queries on an ``H x W`` grid attend to the previous BEV
    (aligned by ego motion) and to the multi-camera features.

    The grid is LiDAR-aligned: rows follow y, columns follow x, covering
    ``pc_range`` (the map GT layout). Each cell's pillar has ``num_anchors``
    points evenly spaced in ``[z_min, z_max]``, projected into every camera
    with ``lidar2img``.

    Args:
        bev_size (tuple[int, int]): ``(H, W)``. Defaults to (200, 200).
        pc_range (Sequence[float]): ``[x_min, y_min, z_min, x_max, y_max,
            z_max]`` in metres.
        embed_dims (int): width. Defaults to 256.
        num_layers (int): encoder layers. Defaults to 6.
        num_cams (int): cameras. Defaults to 6.
        num_levels (int): camera feature levels. Defaults to 4.
        num_heads (int): attention heads. Defaults to 8.
        num_anchors (int): points per pillar. Defaults to 4.
        tsa_points (int): temporal attention points. Defaults to 4.
        sca_points (int): cross-attention points per level. Defaults to 8.
        ffn_dims (int): FFN hidden width. Defaults to 512.
        dropout (float): dropout rate. Defaults to 0.1.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 bev_size: Tuple[int, int] = (200, 200),
                 pc_range: Sequence[float] = (-51.2, -51.2, -5.0, 51.2, 51.2,
                                              3.0),
                 embed_dims: int = 256,
                 num_layers: int = 6,
                 num_cams: int = 6,
                 num_levels: int = 4,
                 num_heads: int = 8,
                 num_anchors: int = 4,
                 tsa_points: int = 4,
                 sca_points: int = 8,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(pc_range) != 6:
            raise ValueError(f'UniADBEVEncoder: pc_range must be [x_min, '
                             f'y_min, z_min, x_max, y_max, z_max], got '
                             f'{pc_range}')
        self.bev_size = tuple(int(v) for v in bev_size)
        self.pc_range = tuple(float(v) for v in pc_range)
        self.embed_dims = embed_dims
        self.num_cams = num_cams
        self.num_levels = num_levels
        self.num_anchors = num_anchors
        height, width = self.bev_size
        self.bev_embedding = nn.Embedding(height * width, embed_dims)
        self.positional_encoding = LearnedPositionalEncoding(
            embed_dims // 2, row_num_embed=height, col_num_embed=width)
        self.cams_embeds = nn.Parameter(torch.empty(num_cams, embed_dims))
        self.level_embeds = nn.Parameter(torch.empty(num_levels, embed_dims))
        self.layers = nn.ModuleList(
            BEVEncoderLayer(embed_dims, num_heads, num_levels, num_anchors,
                            tsa_points, sca_points, ffn_dims, dropout)
            for _ in range(num_layers))

    def init_weights(self) -> None:
        """Normal-initialises the camera and level embeddings, then the
        layers (mmcv's deformable attention init)."""
        super().init_weights()
        nn.init.normal_(self.cams_embeds)
        nn.init.normal_(self.level_embeds)

    def pillar_points(self, device=None) -> Tensor:
        """Metric pillar points of every cell.

        Args:
            device (torch.device, optional): device of the result.

        Returns:
            Tensor: ``(H*W, D, 3)`` LiDAR ``(x, y, z)``.
        """
        z_min, z_max = self.pc_range[2], self.pc_range[5]
        centers = bev_cell_centers(self.bev_size, self.pc_range,
                                   device=device).flatten(0, 1)
        zs = (torch.arange(self.num_anchors, device=device) + 0.5) / \
            self.num_anchors * (z_max - z_min) + z_min
        xy = centers[:, None].expand(-1, self.num_anchors, -1)
        z = zs[None, :, None].expand(centers.shape[0], -1, 1)
        return torch.cat([xy, z], dim=-1)

    def project_pillars(self, lidar2img: Tensor,
                        image_shape: Tuple[int, int]
                        ) -> Tuple[Tensor, Tensor]:
        """Projects the pillars into the cameras.

        Args:
            lidar2img (Tensor): ``(B, N, 4, 4)`` LiDAR-to-pixel transforms.
            image_shape (tuple[int, int]): ``(h, w)`` of the (padded) image
                batch that the features cover.

        Returns:
            tuple[Tensor, Tensor]: ``(B, N, H*W, D, 2)`` normalised
            ``(u, v)`` and the ``(B, N, H*W, D)`` bool hit mask.
        """
        points = self.pillar_points(lidar2img.device)
        points = torch.cat([points, points.new_ones(*points.shape[:2], 1)],
                           dim=-1)
        cam = torch.einsum('bnij,qdj->bnqdi', lidar2img.float(), points)
        eps = 1e-5
        depth = cam[..., 2]
        uv = cam[..., :2] / depth.clamp(min=eps)[..., None]
        uv = uv / uv.new_tensor([image_shape[1], image_shape[0]])
        hit = (depth > eps) & (uv > 0).all(-1) & (uv < 1).all(-1)
        return uv, hit

    def flatten_features(self, mlvl_feats: List[Tensor]
                         ) -> Tuple[Tensor, Tensor, Tensor]:
        """Flattens the camera feature levels and adds camera and level
        embeddings.

        Args:
            mlvl_feats (list[Tensor]): ``num_levels`` maps ``(B, N, C, h,
                w)``.

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``(B, N, S, C)`` values, ``(L,
            2)`` spatial shapes and ``(L, )`` level start indices.
        """
        if len(mlvl_feats) != self.num_levels:
            raise ValueError(f'UniADBEVEncoder: expected {self.num_levels} '
                             f'feature levels, got {len(mlvl_feats)}; set '
                             f'num_levels to the image neck\'s num_outs')
        values, shapes = [], []
        for level, feat in enumerate(mlvl_feats):
            if feat.dim() != 5 or feat.shape[1] != self.num_cams:
                raise ValueError(
                    f'UniADBEVEncoder: feature level {level} has shape '
                    f'{tuple(feat.shape)}; expected (B, {self.num_cams} '
                    f'cameras, {self.embed_dims}, h, w)')
            shapes.append(feat.shape[-2:])
            feat = feat.flatten(3).transpose(2, 3)
            feat = feat + self.cams_embeds[None, :, None] + \
                self.level_embeds[None, None, level:level + 1]
            values.append(feat)
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long,
                                         device=values[0].device)
        start = torch.cat([spatial_shapes.new_zeros(1),
                           spatial_shapes.prod(1).cumsum(0)[:-1]])
        return torch.cat(values, dim=2), spatial_shapes, start

    def forward(self,
                mlvl_feats: List[Tensor],
                lidar2img: Tensor,
                image_shape: Tuple[int, int],
                prev_bev: Optional[Tensor] = None,
                prev2curr: Optional[Tensor] = None) -> Tensor:
        """Builds the BEV feature of one frame.

        Args:
            mlvl_feats (list[Tensor]): camera features ``(B, N, C, h, w)``
                per level.
            lidar2img (Tensor): ``(B, N, 4, 4)``.
            image_shape (tuple[int, int]): ``(h, w)`` of the padded images.
            prev_bev (Tensor, optional): ``(B, C, H, W)`` BEV of the
                previous frame of the same scene.
            prev2curr (Tensor, optional): ``(B, 4, 4)`` previous-to-current
                LiDAR transform; required with ``prev_bev``.

        Returns:
            Tensor: ``(B, C, H, W)``.
        """
        batch = lidar2img.shape[0]
        height, width = self.bev_size
        value, spatial_shapes, start = self.flatten_features(mlvl_feats)
        ref_cam, hit_mask = self.project_pillars(lidar2img, image_shape)
        device = value.device
        ref_2d = bev_cell_centers(self.bev_size, self.pc_range,
                                  device=device).flatten(0, 1)
        x_min, y_min, _, x_max, y_max, _ = self.pc_range
        ref_2d = (ref_2d - ref_2d.new_tensor([x_min, y_min])) / \
            ref_2d.new_tensor([x_max - x_min, y_max - y_min])
        bev_shape = torch.tensor([[height, width]], device=device)
        bev = self.bev_embedding.weight[None].expand(batch, -1, -1)
        bev_pos = self.positional_encoding(
            torch.zeros(batch, height, width, device=device, dtype=torch.bool))
        bev_pos = bev_pos.flatten(2).transpose(1, 2).to(bev.dtype)
        prev = None
        if prev_bev is not None:
            if prev2curr is None:
                raise ValueError('UniADBEVEncoder: prev_bev needs prev2curr '
                                 '(the previous-to-current ego motion)')
            if tuple(prev_bev.shape) != (batch, self.embed_dims, height,
                                         width):
                raise ValueError(
                    f'UniADBEVEncoder: prev_bev has shape '
                    f'{tuple(prev_bev.shape)}, expected '
                    f'{(batch, self.embed_dims, height, width)}')
            prev = warp_bev(prev_bev, prev2curr, self.pc_range)
            prev = prev.flatten(2).transpose(1, 2)
        for layer in self.layers:
            bev = layer(bev, bev_pos, prev, ref_2d, bev_shape, value,
                        ref_cam, hit_mask, spatial_shapes, start)
        return bev.transpose(1, 2).reshape(batch, self.embed_dims, height,
                                           width)
