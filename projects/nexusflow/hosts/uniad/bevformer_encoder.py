"""BEVFormer's BEV encoder as UniAD stage 1 runs it
(``BEVFormerTrackHead.get_bev_features``)."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks.transformer import FFN
from mmdet.models.layers import LearnedPositionalEncoding
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ...structures.can_bus import CAN_BUS_DIMS
from .bevformer_motion import bev_shift, rotate_bev
from .bevformer_points import (bev_reference_points, pillar_points,
                               project_pillars)
from .bevformer_spatial_attention import BEVFormerSpatialCrossAttention
from .bevformer_temporal_attention import BEVFormerTemporalSelfAttention
from .can_bus import CanBusMLP


class BEVFormerEncoderLayer(BaseModule):
    """Temporal self-attention, norm, spatial cross-attention, norm, FFN,
    norm (BEVFormer's post-norm order).

    Args:
        embed_dims (int): width.
        num_heads (int): attention heads.
        num_levels (int): camera feature levels.
        num_anchors (int): points per pillar.
        tsa_points (int): temporal attention points per head.
        sca_points (int): cross-attention points per head and level.
        ffn_dims (int): FFN hidden width.
        dropout (float): dropout of the attentions and the FFN.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_levels: int,
                 num_anchors: int, tsa_points: int, sca_points: int,
                 ffn_dims: int, dropout: float) -> None:
        super().__init__()
        self.temporal_attn = BEVFormerTemporalSelfAttention(
            embed_dims, num_heads, num_levels=1, num_points=tsa_points,
            dropout=dropout)
        self.spatial_attn = BEVFormerSpatialCrossAttention(
            embed_dims, num_heads, num_levels, sca_points, num_anchors,
            dropout=dropout)
        self.ffn = FFN(embed_dims=embed_dims, feedforward_channels=ffn_dims,
                       ffn_drop=dropout)
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))

    def forward(self, query: Tensor, bev_pos: Tensor,
                value_queue: Optional[Tensor], ref_2d: Tensor,
                bev_shape: Tensor, value: Tensor, ref_cam: Tensor,
                bev_mask: Tensor, spatial_shapes: Tensor,
                level_start_index: Tensor) -> Tensor:
        """One layer; shapes as in :meth:`BEVFormerEncoder.forward`.

        Args:
            query (Tensor): ``(B, Q, C)``.
            bev_pos (Tensor): ``(B, Q, C)``.
            value_queue (Tensor, optional): ``(B, 2, Q, C)`` or None.
            ref_2d (Tensor): ``(B, 2, Q, 2)``.
            bev_shape (Tensor): ``[[H, W]]``.
            value (Tensor): ``(B, N, S, C)`` camera features.
            ref_cam (Tensor): ``(B, N, Q, D, 2)``.
            bev_mask (Tensor): ``(B, N, Q, D)``.
            spatial_shapes (Tensor): ``(L, 2)``.
            level_start_index (Tensor): ``(L, )``.

        Returns:
            Tensor: ``(B, Q, C)``.
        """
        query = self.norms[0](self.temporal_attn(query, bev_pos, value_queue,
                                                 ref_2d, bev_shape))
        query = self.norms[1](self.spatial_attn(query, value, ref_cam,
                                                bev_mask, spatial_shapes,
                                                level_start_index))
        return self.norms[2](self.ffn(query))


@MODELS.register_module()
class BEVFormerEncoder(BaseModule):
    """The BEVFormer encoder of UniAD stage 1, numerically as the official
    ``BEVFormerTrackHead.get_bev_features`` (mmcv's deformable attention:
    the CUDA kernel for CUDA tensors, the PyTorch version otherwise).

    Per frame:

    1. BEV queries = ``bev_embedding`` + ``can_bus_mlp(can_bus)``
       (:class:`CanBusMLP`); ``bev_pos`` = learned positional encoding
       (column embedding in channels ``[0, C/2)``, row in ``[C/2, C)``).
    2. Camera features: each level flattened, plus ``cams_embeds[camera]``
       and ``level_embeds[level]``.
    3. Pillar points at ``z_min + linspace(0.5, Z - 0.5, num_anchors)``
       projected with ``lidar2img`` in float32 (strict masks).
    4. 2-D reference points shifted by the ego translation
       (:func:`bev_shift`). As in the official code the shift reaches both
       entries of the temporal value queue (its in-place update, kept
       there "for reproducing" the paper).
    5. The previous BEV, if any, is rotated by the yaw change
       ``can_bus[17]`` degrees about ``rotate_center`` (nearest, zero fill;
       :func:`rotate_bev`); the temporal value queue is then ``[rotated
       previous BEV, the BEV queries of step 1]`` for every layer, or
       ``[layer input, layer input]`` without a previous BEV.
    6. ``num_layers`` x (TSA, norm, SCA, norm, FFN, norm).

    The BEV grid is LiDAR-aligned: query ``h * W + w`` is the cell at
    ``x = x_min + (w + 0.5) * cell``, ``y = y_min + (h + 0.5) * cell``.

    Args:
        bev_size (tuple[int, int]): ``(H, W)``. Defaults to (200, 200).
        pc_range (Sequence[float]): ``[x_min, y_min, z_min, x_max, y_max,
            z_max]``.
        embed_dims (int): width. Defaults to 256.
        num_layers (int): encoder layers. Defaults to 6.
        num_cams (int): cameras. Defaults to 6.
        num_levels (int): camera feature levels. Defaults to 4.
        num_heads (int): attention heads. Defaults to 8.
        num_anchors (int): points per pillar (``num_points_in_pillar``).
            Defaults to 4.
        tsa_points (int): temporal attention points per head and queue
            entry. Defaults to 4.
        sca_points (int): cross-attention points per head and level, a
            multiple of ``num_anchors``. Defaults to 8.
        ffn_dims (int): FFN hidden width. Defaults to 512.
        dropout (float): dropout rate. Defaults to 0.1.
        rotate_center (Sequence[float], optional): ``(x, y)`` pixel centre
            of the previous-BEV rotation; the grid centre ``(W / 2, H / 2)``
            when None (UniAD's ``[100, 100]`` for 200 x 200).
        with_cp (bool): activation checkpointing (BEVFormer's ``with_cp``):
            in training only each layer's input BEV is kept and the layer
            is recomputed in the backward pass (same numbers, dropout
            included; less memory, one more forward pass of the encoder).
            Defaults to False.
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
                 rotate_center: Optional[Sequence[float]] = None,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(pc_range) != 6:
            raise ValueError(f'BEVFormerEncoder: pc_range must be [x_min, '
                             f'y_min, z_min, x_max, y_max, z_max], got '
                             f'{pc_range}')
        if embed_dims % 2 != 0:
            raise ValueError(f'BEVFormerEncoder: embed_dims must be even, '
                             f'got {embed_dims}')
        self.bev_size = tuple(int(v) for v in bev_size)
        self.pc_range = tuple(float(v) for v in pc_range)
        self.embed_dims = embed_dims
        self.num_cams = num_cams
        self.num_levels = num_levels
        self.num_anchors = num_anchors
        self.with_cp = with_cp
        height, width = self.bev_size
        if rotate_center is None:
            rotate_center = (width / 2, height / 2)
        self.rotate_center = tuple(float(v) for v in rotate_center)
        self.bev_embedding = nn.Embedding(height * width, embed_dims)
        self.positional_encoding = LearnedPositionalEncoding(
            embed_dims // 2, row_num_embed=height, col_num_embed=width)
        self.level_embeds = nn.Parameter(torch.empty(num_levels, embed_dims))
        self.cams_embeds = nn.Parameter(torch.empty(num_cams, embed_dims))
        self.can_bus_mlp = CanBusMLP(embed_dims)
        self.layers = nn.ModuleList(
            BEVFormerEncoderLayer(embed_dims, num_heads, num_levels,
                                  num_anchors, tsa_points, sca_points,
                                  ffn_dims, dropout)
            for _ in range(num_layers))

    def init_weights(self) -> None:
        """The official initialisation: Xavier-uniform for every matrix of
        the transformer, then the deformable attentions' own scheme, normal
        level and camera embeddings, uniform positional embeddings;
        ``bev_embedding`` keeps PyTorch's N(0, 1)."""
        for param in list(self.layers.parameters()) + \
                list(self.can_bus_mlp.parameters()):
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
        for module in self.modules():
            if isinstance(module, (BEVFormerTemporalSelfAttention,
                                   BEVFormerSpatialCrossAttention)):
                module.init_weights()
        nn.init.normal_(self.level_embeds)
        nn.init.normal_(self.cams_embeds)
        # LearnedPositionalEncoding's own init: U(0, 1) embeddings.
        nn.init.uniform_(self.positional_encoding.row_embed.weight)
        nn.init.uniform_(self.positional_encoding.col_embed.weight)
        self._is_init = True

    # ------------------------------------------------------------ pieces
    def bev_positional_encoding(self, batch: int, device=None,
                                dtype: torch.dtype = torch.float32) -> Tensor:
        """The learned positional encoding of the grid.

        Args:
            batch (int): batch size.
            device (torch.device, optional): device.
            dtype (torch.dtype): dtype.

        Returns:
            Tensor: ``(B, C, H, W)``.
        """
        mask = torch.zeros(batch, *self.bev_size, device=device)
        return self.positional_encoding(mask).to(dtype)

    def camera_reference_points(self, lidar2img: Tensor,
                                image_shape: Tuple[int, int]
                                ) -> Tuple[Tensor, Tensor]:
        """Pillar points in every camera (the official ``point_sampling``).

        Args:
            lidar2img (Tensor): ``(B, N, 4, 4)``.
            image_shape (tuple[int, int]): ``(h, w)`` of the padded images.

        Returns:
            tuple[Tensor, Tensor]: ``(B, N, H*W, D, 2)`` normalised ``(u,
            v)`` and the ``(B, N, H*W, D)`` bool mask.
        """
        points = pillar_points(self.bev_size, self.pc_range, self.num_anchors,
                               device=lidar2img.device)
        return project_pillars(points, lidar2img, image_shape)

    def flatten_features(self, mlvl_feats: List[Tensor]
                         ) -> Tuple[Tensor, Tensor, Tensor]:
        """Flattens the camera feature levels and adds the camera and level
        embeddings.

        Args:
            mlvl_feats (list[Tensor]): ``num_levels`` maps ``(B, N, C, h,
                w)``.

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``(B, N, S, C)`` values, ``(L,
            2)`` long spatial shapes and ``(L, )`` level start indices.
        """
        if len(mlvl_feats) != self.num_levels:
            raise ValueError(f'BEVFormerEncoder: expected {self.num_levels} '
                             f'feature levels, got {len(mlvl_feats)}; set '
                             f'num_levels to the image neck\'s num_outs')
        values, shapes = [], []
        for level, feat in enumerate(mlvl_feats):
            if feat.dim() != 5 or feat.shape[1] != self.num_cams or \
                    feat.shape[2] != self.embed_dims:
                raise ValueError(
                    f'BEVFormerEncoder: feature level {level} has shape '
                    f'{tuple(feat.shape)}; expected (B, {self.num_cams} '
                    f'cameras, {self.embed_dims}, h, w)')
            shapes.append(feat.shape[-2:])
            feat = feat.flatten(3).transpose(2, 3)
            feat = feat + self.cams_embeds[None, :, None].to(feat.dtype)
            feat = feat + self.level_embeds[None, None,
                                            level:level + 1].to(feat.dtype)
            values.append(feat)
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long,
                                         device=values[0].device)
        start = torch.cat([spatial_shapes.new_zeros(1),
                           spatial_shapes.prod(1).cumsum(0)[:-1]])
        return torch.cat(values, dim=2), spatial_shapes, start

    # ----------------------------------------------------------- forward
    def forward(self,
                mlvl_feats: List[Tensor],
                lidar2img: Tensor,
                image_shape: Tuple[int, int],
                prev_bev: Optional[Tensor] = None,
                can_bus: Optional[Union[Tensor, np.ndarray]] = None
                ) -> Tensor:
        """Builds the BEV of one frame.

        Args:
            mlvl_feats (list[Tensor]): camera features ``(B, N, C, h, w)``
                per level.
            lidar2img (Tensor): ``(B, N, 4, 4)``.
            image_shape (tuple[int, int]): ``(h, w)`` of the padded images
                (the official ``img_shape``).
            prev_bev (Tensor, optional): ``(B, C, H, W)`` BEV of the
                previous frame of the same sequence (not yet rotated).
            can_bus (Tensor | np.ndarray, optional): ``(B, 18)`` CAN-bus
                vectors in delta form (translation and yaw change since the
                previous frame; see :mod:`nexusflow.structures.can_bus`).
                None means all zeros.

        Returns:
            Tensor: ``(B, C, H, W)``.
        """
        batch = lidar2img.shape[0]
        height, width = self.bev_size
        dtype, device = mlvl_feats[0].dtype, mlvl_feats[0].device
        if can_bus is None:
            can_bus = torch.zeros(batch, CAN_BUS_DIMS, dtype=torch.float64)
        can_bus = torch.as_tensor(can_bus).to(device=device,
                                              dtype=torch.float64)
        if tuple(can_bus.shape) != (batch, CAN_BUS_DIMS):
            raise ValueError(f'BEVFormerEncoder: can_bus must be ({batch}, '
                             f'{CAN_BUS_DIMS}), got {tuple(can_bus.shape)}')
        shift = bev_shift(can_bus, self.bev_size, self.pc_range).to(dtype)
        queries = self.bev_embedding.weight.to(dtype)[None] + \
            self.can_bus_mlp(can_bus.to(dtype))[:, None]
        bev_pos = self.bev_positional_encoding(batch, device, dtype)
        bev_pos = bev_pos.flatten(2).transpose(1, 2)

        value, spatial_shapes, start = self.flatten_features(mlvl_feats)
        ref_cam, bev_mask = self.camera_reference_points(lidar2img,
                                                         image_shape)
        ref_2d = bev_reference_points(self.bev_size, device, dtype)
        ref_2d = ref_2d[None] + shift[:, None]
        ref_2d = torch.stack([ref_2d, ref_2d], dim=1)

        value_queue = None
        if prev_bev is not None:
            expected = (batch, self.embed_dims, height, width)
            if tuple(prev_bev.shape) != expected:
                raise ValueError(f'BEVFormerEncoder: prev_bev has shape '
                                 f'{tuple(prev_bev.shape)}, expected '
                                 f'{expected}')
            prev = rotate_bev(prev_bev.to(dtype), can_bus[:, 17],
                              self.rotate_center)
            prev = prev.flatten(2).transpose(1, 2)
            value_queue = torch.stack([prev, queries], dim=1)

        bev_shape = torch.tensor([[height, width]], device=device)
        bev = queries
        inputs = (bev_pos, value_queue, ref_2d, bev_shape, value, ref_cam,
                  bev_mask, spatial_shapes, start)
        checkpointed = self.with_cp and self.training and \
            torch.is_grad_enabled()
        for layer in self.layers:
            if checkpointed:
                # Non-reentrant: gradients reach every input, and the RNG
                # state is replayed so dropout draws the same masks.
                bev = cp.checkpoint(layer, bev, *inputs, use_reentrant=False)
            else:
                bev = layer(bev, *inputs)
        return bev.transpose(1, 2).reshape(batch, self.embed_dims, height,
                                           width)
