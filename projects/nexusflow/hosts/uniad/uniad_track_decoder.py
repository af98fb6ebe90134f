"""UniAD's track decoder: DETR3D-style decoder with box refinement on the BEV.

The computation follows UniAD stage 1 (``BEVFormerTrackHead.get_detections``
with ``DetectionTransformerDecoder``, ``with_box_refine=True``), so weights
converted from the official checkpoint (see
:mod:`nexusflow.converters.uniad_track_keys`) give the official outputs.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmcv.ops import MultiScaleDeformableAttention
from mmdet.models.layers import inverse_sigmoid
from mmengine.model import BaseModule, bias_init_with_prob
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .deformable_sampling import deformable_sample

# Box code of UniAD's regression branches (its NMSFreeCoder layout, mmdet3d
# 0.17 box convention): cx, cy, log w, log l, cz, log h, sin yaw, cos yaw,
# vx, vy. The centre channels refine the reference point.
UNIAD_CODE_SIZE = 10
UNIAD_CENTER_DIMS = (0, 1, 4)


@MODELS.register_module()
class TrackBEVDeformableAttention(MultiScaleDeformableAttention):
    """Deformable cross-attention of the track queries into the BEV (UniAD's
    ``CustomMSDeformableAttention``).

    mmcv's layers and initialisation (sampling offsets, attention weights,
    value and output projections); each query samples ``num_points`` points
    per head and level around its normalised BEV reference ``(x, y)``, the
    offsets divided by the level's ``(W, H)``. The kernel runs in float32
    (mmcv's CUDA op on CUDA tensors, the PyTorch version otherwise), as
    UniAD's fp32 function does under mixed precision. The output gets
    dropout and the residual (the query without its positional encoding).

    Args:
        embed_dims (int): width. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_levels (int): BEV levels. Defaults to 1.
        num_points (int): sampling points per head and level. Defaults to 4.
        dropout (float): dropout on the output. Defaults to 0.1.
        im2col_step (int): CUDA kernel step. Defaults to 64.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_levels: int = 1,
                 num_points: int = 4,
                 dropout: float = 0.1,
                 im2col_step: int = 64,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(embed_dims=embed_dims, num_heads=num_heads,
                         num_levels=num_levels, num_points=num_points,
                         im2col_step=im2col_step, dropout=dropout,
                         batch_first=True, init_cfg=init_cfg)

    def forward(self,
                query: Tensor,
                value: Tensor,
                query_pos: Tensor,
                reference_points: Tensor,
                spatial_shapes: Tensor,
                level_start_index: Tensor,
                key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Cross-attention step with residual.

        Args:
            query (Tensor): ``(bs, num_queries, embed_dims)``.
            value (Tensor): ``(bs, num_keys, embed_dims)`` flattened BEV
                levels.
            query_pos (Tensor): ``(bs, num_queries, embed_dims)``.
            reference_points (Tensor): ``(bs, num_queries, num_levels, 2)``
                normalised ``(x, y)``.
            spatial_shapes (Tensor): ``(num_levels, 2)`` as ``(h, w)``.
            level_start_index (Tensor): ``(num_levels, )``.
            key_padding_mask (Tensor, optional): ``(bs, num_keys)`` bool,
                True for keys to ignore.

        Returns:
            Tensor: ``(bs, num_queries, embed_dims)``.
        """
        bs, num_query, _ = query.shape
        num_value = value.shape[1]
        if int((spatial_shapes[:, 0] * spatial_shapes[:, 1]).sum()) != \
                num_value:
            raise ValueError(
                f'TrackBEVDeformableAttention: spatial_shapes '
                f'{spatial_shapes.tolist()} do not cover the {num_value} '
                f'value positions')
        identity = query
        query = query + query_pos
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
        locations = reference_points[:, :, None, :, None, :] + \
            offsets / normalizer[None, None, None, :, None, :]
        output = deformable_sample(value.float(), spatial_shapes,
                                   level_start_index, locations.float(),
                                   weights.float(), self.im2col_step)
        output = self.output_proj(output.to(identity.dtype))
        return self.dropout(output) + identity


class UniADTrackDecoderLayer(BaseModule):
    """One decoder layer, post-norm: self-attention among the queries (``q =
    k = query + query_pos``, ``v = query``), norm, deformable cross-attention
    into the BEV, norm, FFN, norm.

    Args:
        embed_dims (int): width.
        num_heads (int): attention heads (self- and cross-attention).
        num_points (int): BEV sampling points per head.
        ffn_dims (int): FFN hidden width.
        dropout (float): dropout of the attentions and the FFN.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_points: int,
                 ffn_dims: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            embed_dims, num_heads, attn_drop=dropout,
            dropout_layer=dict(type='Dropout', drop_prob=dropout),
            batch_first=True)
        self.cross_attn = TrackBEVDeformableAttention(
            embed_dims=embed_dims, num_heads=num_heads, num_levels=1,
            num_points=num_points, dropout=dropout)
        self.ffn = FFN(embed_dims=embed_dims, feedforward_channels=ffn_dims,
                       ffn_drop=dropout)
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))

    def forward(self, query: Tensor, query_pos: Tensor, bev: Tensor,
                reference_points: Tensor, bev_shape: Tensor,
                level_start_index: Tensor) -> Tensor:
        """One layer.

        Args:
            query (Tensor): ``(B, Q, C)``.
            query_pos (Tensor): ``(B, Q, C)``.
            bev (Tensor): ``(B, H*W, C)``.
            reference_points (Tensor): ``(B, Q, 2)`` normalised ``(x, y)``.
            bev_shape (Tensor): ``[[H, W]]`` (long).
            level_start_index (Tensor): ``[0]`` (long).

        Returns:
            Tensor: ``(B, Q, C)``.
        """
        query = self.norms[0](self.self_attn(query, query_pos=query_pos,
                                             key_pos=query_pos))
        query = self.norms[1](self.cross_attn(
            query, bev, query_pos, reference_points[:, :, None], bev_shape,
            level_start_index))
        return self.norms[2](self.ffn(query))


@MODELS.register_module()
class UniADTrackDecoder(BaseModule):
    """UniAD's track decoder with box refinement, its branches and its
    learned queries.

    Queries are ``2C`` vectors (``query_pos`` = first ``C`` columns,
    content = last ``C``) with a reference point given as logits (UniAD's
    ``ref_pts``); :meth:`empty_queries` returns the learned ones
    (``query_embedding``, ``reference_points(query_pos)``). Layer ``l``
    reads the BEV around ``sigmoid`` of its input reference; its
    regression branch output ``reg`` refines the reference for layer
    ``l + 1``: ``ref_xy = sigmoid(reg[0:2] + inverse_sigmoid(ref_xy))``,
    ``ref_z = sigmoid(reg[4] + inverse_sigmoid(ref_z))`` (detached).

    Args:
        num_layers (int): decoder layers. Defaults to 6.
        num_query (int): rows of ``query_embedding`` (UniAD: 900 detection
            queries + 1 ego query). Defaults to 901.
        num_classes (int): class logits per query. Defaults to 10.
        embed_dims (int): width C. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_points (int): BEV sampling points per head. Defaults to 4.
        ffn_dims (int): FFN hidden width. Defaults to 512.
        dropout (float): dropout rate. Defaults to 0.1.
        num_reg_fcs (int): hidden layers of the branches. Defaults to 2.
        past_steps (int): past trajectory steps. Defaults to 4.
        fut_steps (int): future trajectory steps. Defaults to 4.
        pc_range (Sequence[float]): ``[x_min, y_min, z_min, x_max, y_max,
            z_max]`` that normalised references map to.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 num_layers: int = 6,
                 num_query: int = 901,
                 num_classes: int = 10,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_points: int = 4,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 num_reg_fcs: int = 2,
                 past_steps: int = 4,
                 fut_steps: int = 4,
                 pc_range: Sequence[float] = (-51.2, -51.2, -5.0, 51.2, 51.2,
                                              3.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(pc_range) != 6:
            raise ValueError(f'UniADTrackDecoder: pc_range must have 6 '
                             f'values, got {pc_range}')
        if num_layers < 1:
            raise ValueError(f'UniADTrackDecoder: num_layers must be >= 1, '
                             f'got {num_layers}')
        self.embed_dims = embed_dims
        self.num_query = num_query
        self.num_classes = num_classes
        self.traj_steps = past_steps + fut_steps
        self.pc_range = tuple(float(v) for v in pc_range)
        self.query_embedding = nn.Embedding(num_query, 2 * embed_dims)
        self.reference_points = nn.Linear(embed_dims, 3)
        self.layers = nn.ModuleList(
            UniADTrackDecoderLayer(embed_dims, num_heads, num_points,
                                   ffn_dims, dropout)
            for _ in range(num_layers))
        self.cls_branches = nn.ModuleList(
            self._branch(num_reg_fcs, num_classes, norm=True)
            for _ in range(num_layers))
        self.reg_branches = nn.ModuleList(
            self._branch(num_reg_fcs, UNIAD_CODE_SIZE, norm=False)
            for _ in range(num_layers))
        self.traj_branches = nn.ModuleList(
            self._branch(num_reg_fcs, 2 * self.traj_steps, norm=False)
            for _ in range(num_layers))

    def _branch(self, num_fcs: int, out_dims: int, norm: bool) -> nn.Module:
        layers: List[nn.Module] = []
        for _ in range(num_fcs):
            layers.append(nn.Linear(self.embed_dims, self.embed_dims))
            if norm:
                layers.append(nn.LayerNorm(self.embed_dims))
            layers.append(nn.ReLU(inplace=True))
        layers.append(nn.Linear(self.embed_dims, out_dims))
        return nn.Sequential(*layers)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def init_weights(self) -> None:
        """UniAD's init: xavier on every matrix of the decoder layers, then
        mmcv's deformable-attention init and the focal prior on the class
        biases; the other branch layers, ``reference_points`` and
        ``query_embedding`` keep PyTorch's default init."""
        super().init_weights()
        for param in self.layers.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
        for module in self.layers.modules():
            if isinstance(module, MultiScaleDeformableAttention):
                module.init_weights()
        bias = bias_init_with_prob(0.01)
        for branch in self.cls_branches:
            nn.init.constant_(branch[-1].bias, bias)

    def empty_queries(self) -> Tuple[Tensor, Tensor]:
        """The learned queries.

        Returns:
            tuple[Tensor, Tensor]: ``(num_query, 2C)`` embeddings and their
            ``(num_query, 3)`` reference-point logits.
        """
        embeds = self.query_embedding.weight
        return embeds, self.reference_points(embeds[:, :self.embed_dims])

    def to_metric(self, ref: Tensor) -> Tensor:
        """Normalised ``(..., 3)`` points to metres in ``pc_range``."""
        low = ref.new_tensor(self.pc_range[:3])
        high = ref.new_tensor(self.pc_range[3:])
        return ref * (high - low) + low

    def forward(self, bev: Tensor, query_embeds: Tensor, ref_points: Tensor,
                bev_hw: Tuple[int, int]) -> Dict[str, Tensor]:
        """Decodes a set of queries on the BEV.

        Args:
            bev (Tensor): ``(B, H*W, C)`` BEV, row-major cells (``q = h * W
                + w``).
            query_embeds (Tensor): ``(Q, 2C)`` or ``(B, Q, 2C)``.
            ref_points (Tensor): ``(Q, 3)`` or ``(B, Q, 3)`` reference
                logits (normalised ``(x, y, z)`` after sigmoid).
            bev_hw (tuple[int, int]): ``(H, W)``.

        Returns:
            dict[str, Tensor]: with ``L`` layers:

            - ``all_cls_scores`` ``(L, B, Q, num_classes)`` logits;
            - ``all_bbox_preds`` ``(L, B, Q, 10)``: channels 0, 1, 4 the
              refined centre in metres, the others raw (UniAD's code);
            - ``all_past_traj_preds`` ``(L, B, Q, past + fut, 2)`` raw;
            - ``all_ref_points`` ``(L, B, Q, 3)``: the refined normalised
              centre of each layer (detached);
            - ``last_ref_points`` ``(B, Q, 3)``: ``inverse_sigmoid`` of the
              last layer's refined centre;
            - ``query_feats`` ``(L, B, Q, C)``: hidden states.
        """
        batch = bev.shape[0]
        height, width = int(bev_hw[0]), int(bev_hw[1])
        if bev.dim() != 3 or bev.shape[1] != height * width or \
                bev.shape[2] != self.embed_dims:
            raise ValueError(
                f'UniADTrackDecoder: bev must be (B, {height}*{width}, '
                f'{self.embed_dims}), got {tuple(bev.shape)}')
        if query_embeds.dim() == 2:
            query_embeds = query_embeds[None].expand(batch, -1, -1)
        if ref_points.dim() == 2:
            ref_points = ref_points[None].expand(batch, -1, -1)
        query_pos, query = query_embeds.split(self.embed_dims, dim=-1)
        bev_shape = torch.tensor([[height, width]], device=bev.device)
        level_start = bev_shape.new_zeros(1)
        ref = ref_points.sigmoid()
        cls_scores, bbox_preds, trajs, refs, feats = [], [], [], [], []
        for layer, cls_branch, reg_branch, traj_branch in zip(
                self.layers, self.cls_branches, self.reg_branches,
                self.traj_branches):
            query = layer(query, query_pos, bev, ref[..., :2], bev_shape,
                          level_start)
            reg = reg_branch(query)
            center = (reg[..., list(UNIAD_CENTER_DIMS)] +
                      inverse_sigmoid(ref)).sigmoid()
            metric = self.to_metric(center)
            bbox_preds.append(torch.cat(
                [metric[..., :2], reg[..., 2:4], metric[..., 2:],
                 reg[..., 5:]], dim=-1))
            cls_scores.append(cls_branch(query))
            trajs.append(traj_branch(query).unflatten(
                -1, (self.traj_steps, 2)))
            feats.append(query)
            ref = center.detach()
            refs.append(ref)
        return dict(all_cls_scores=torch.stack(cls_scores),
                    all_bbox_preds=torch.stack(bbox_preds),
                    all_past_traj_preds=torch.stack(trajs),
                    all_ref_points=torch.stack(refs),
                    last_ref_points=inverse_sigmoid(center),
                    query_feats=torch.stack(feats))
