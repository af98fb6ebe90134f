"""Deformable-DETR encoder/decoder of UniAD's panoptic map head.

The BEV enters as one feature level. mmdet 3.x's Deformable-DETR encoder and
decoder (box refinement included) do the work; only the deformable attention
is swapped for :class:`SegDeformableAttention`, which can reproduce how
UniAD's released seg head reads its sampling tensors (see there).
"""
from typing import Dict, Optional

import torch
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from mmcv.ops import MultiScaleDeformableAttention
from mmdet.models.layers import SinePositionalEncoding, inverse_sigmoid
from mmdet.models.layers.transformer.deformable_detr_layers import (
    DeformableDetrTransformerDecoder, DeformableDetrTransformerDecoderLayer,
    DeformableDetrTransformerEncoder, DeformableDetrTransformerEncoderLayer)
from mmengine.model import BaseModule, ModuleList
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .deformable_sampling import deformable_sample


@MODELS.register_module()
class SegDeformableAttention(MultiScaleDeformableAttention):
    """mmcv's multi-scale deformable attention with an optional reading of
    the official seg head's level layout.

    UniAD builds every deformable attention of its seg head for
    ``num_levels`` = 4 feature levels but feeds it the BEV as ONE level.
    On GPU, mmcv 1.4's kernel takes the level count from ``spatial_shapes``
    (1) and indexes the ``(bs, nq, heads, 4, points[, 2])`` sampling
    locations and attention weights by raw offsets, so it reads the first
    quarter of each contiguous tensor as if it were ``(bs, nq, heads, 1,
    points[, 2])``: query ``q`` gets the values computed for query ``q //
    4``, and the weights are not renormalised. The released checkpoints
    were trained and evaluated that way. ``cuda_level_layout=True``
    reproduces this reading on every device (per sample; UniAD runs the
    head at batch size 1, where per sample and per batch agree). With it
    off, a layer fed fewer levels than it was built for is an error (mmcv's
    CPU path fails on it too).

    Args:
        cuda_level_layout (bool): reproduce the official GPU reading when
            fewer levels are fed than built. Defaults to False.
        **kwargs: :class:`mmcv.ops.MultiScaleDeformableAttention`
            arguments (``embed_dims``, ``num_heads``, ``num_levels``,
            ``num_points``, ``dropout``, ``batch_first``, ...).
    """

    def __init__(self, cuda_level_layout: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cuda_level_layout = cuda_level_layout

    def forward(self,
                query: Tensor,
                key: Optional[Tensor] = None,
                value: Optional[Tensor] = None,
                identity: Optional[Tensor] = None,
                query_pos: Optional[Tensor] = None,
                key_padding_mask: Optional[Tensor] = None,
                reference_points: Optional[Tensor] = None,
                spatial_shapes: Optional[Tensor] = None,
                level_start_index: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Deformable attention with residual (batch first).

        Args:
            query (Tensor): ``(bs, nq, C)``.
            key (Tensor, optional): unused (mmcv interface).
            value (Tensor, optional): ``(bs, nv, C)``; ``query`` if None.
            identity (Tensor, optional): residual; ``query`` if None.
            query_pos (Tensor, optional): added to ``query``.
            key_padding_mask (Tensor, optional): ``(bs, nv)``, True = pad.
            reference_points (Tensor): ``(bs, nq, fed_levels, 2)``
                normalised ``(x, y)`` or ``(..., 4)`` ``(cx, cy, w, h)``.
            spatial_shapes (Tensor): ``(fed_levels, 2)`` as ``(h, w)``.
            level_start_index (Tensor): ``(fed_levels, )``.

        Returns:
            Tensor: ``(bs, nq, C)``.
        """
        if not self.batch_first:
            raise ValueError('SegDeformableAttention: batch_first must be '
                             'True')
        value = query if value is None else value
        identity = query if identity is None else identity
        if query_pos is not None:
            query = query + query_pos
        bs, num_query, _ = query.shape
        num_value = value.shape[1]
        fed = spatial_shapes.shape[0]
        built, heads = self.num_levels, self.num_heads
        points = self.num_points
        if fed != built and not (fed == 1 and self.cuda_level_layout):
            raise ValueError(
                f'SegDeformableAttention: built for {built} levels but fed '
                f'{fed}; only one fed level with cuda_level_layout=True '
                f'(the official seg-head reading) is supported')
        value = self.value_proj(value)
        if key_padding_mask is not None:
            value = value.masked_fill(key_padding_mask[..., None], 0.0)
        value = value.view(bs, num_value, heads, -1)
        offsets = self.sampling_offsets(query).view(bs, num_query, heads,
                                                    built, points, 2)
        weights = self.attention_weights(query).view(
            bs, num_query, heads, built * points).softmax(-1).view(
                bs, num_query, heads, built, points)
        ref = reference_points[:, :, None, :, None, :]
        if reference_points.shape[-1] == 2:
            normalizer = torch.stack(
                [spatial_shapes[..., 1], spatial_shapes[..., 0]], -1)
            locations = ref + offsets / normalizer[None, None, None, :,
                                                   None, :]
        elif reference_points.shape[-1] == 4:
            locations = ref[..., :2] + \
                offsets / points * ref[..., 2:] * 0.5
        else:
            raise ValueError(f'SegDeformableAttention: reference points '
                             f'must end in 2 or 4, got '
                             f'{tuple(reference_points.shape)}')
        if fed != built:
            # The kernel's raw-offset reading: the first fed/built part of
            # each sample's contiguous block, viewed with fed levels.
            size = num_query * heads * fed * points
            locations = locations.reshape(bs, -1)[:, :size * 2].reshape(
                bs, num_query, heads, fed, points, 2)
            weights = weights.reshape(bs, -1)[:, :size].reshape(
                bs, num_query, heads, fed, points)
        output = deformable_sample(value, spatial_shapes, level_start_index,
                                   locations, weights, self.im2col_step)
        return self.dropout(self.output_proj(output)) + identity


class SegEncoderLayer(DeformableDetrTransformerEncoderLayer):
    """mmdet's Deformable-DETR encoder layer with
    :class:`SegDeformableAttention` as self-attention (post-norm:
    attention, norm, FFN, norm)."""

    def _init_layers(self) -> None:
        self.self_attn = SegDeformableAttention(**self.self_attn_cfg)
        self.embed_dims = self.self_attn.embed_dims
        self.ffn = FFN(**self.ffn_cfg)
        self.norms = ModuleList(
            build_norm_layer(self.norm_cfg, self.embed_dims)[1]
            for _ in range(2))


class SegDecoderLayer(DeformableDetrTransformerDecoderLayer):
    """mmdet's Deformable-DETR decoder layer with
    :class:`SegDeformableAttention` as cross-attention (post-norm: self-
    attention, norm, cross-attention, norm, FFN, norm)."""

    def _init_layers(self) -> None:
        self.self_attn = MultiheadAttention(**self.self_attn_cfg)
        self.cross_attn = SegDeformableAttention(**self.cross_attn_cfg)
        self.embed_dims = self.self_attn.embed_dims
        self.ffn = FFN(**self.ffn_cfg)
        self.norms = ModuleList(
            build_norm_layer(self.norm_cfg, self.embed_dims)[1]
            for _ in range(3))


class SegEncoder(DeformableDetrTransformerEncoder):
    """mmdet's Deformable-DETR encoder of :class:`SegEncoderLayer`."""

    def _init_layers(self) -> None:
        self.layers = ModuleList(
            SegEncoderLayer(**self.layer_cfg) for _ in range(self.num_layers))
        self.embed_dims = self.layers[0].embed_dims


class SegDecoder(DeformableDetrTransformerDecoder):
    """mmdet's Deformable-DETR decoder (box refinement, intermediate
    outputs) of :class:`SegDecoderLayer`."""

    def _init_layers(self) -> None:
        self.layers = ModuleList(
            SegDecoderLayer(**self.layer_cfg) for _ in range(self.num_layers))
        self.embed_dims = self.layers[0].embed_dims


class PanopticTransformer(BaseModule):
    """Deformable encoder over the BEV, then a deformable decoder of learned
    queries with box refinement (UniAD's ``SegDeformableTransformer``,
    single stage).

    The BEV is one level with the sine positional encoding (normalised,
    offset -0.5, y channels first) plus ``level_embeds[0]``. Queries are
    ``2C`` vectors split into ``(query_pos, content)``; the first reference
    is ``sigmoid(reference_points(query_pos))``, a 2-d ``(cx, cy)``; every
    decoder layer refines it to a 4-d box with its regression branch.

    Args:
        embed_dims (int): width C. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        num_points (int): deformable sampling points. Defaults to 4.
        num_levels (int): levels the deformable attentions are built for
            (UniAD: 4, of which the BEV fills one). Defaults to 4.
        cuda_level_layout (bool): see :class:`SegDeformableAttention`.
            Defaults to True (the official weights' reading).
        num_encoder_layers (int): Defaults to 6.
        num_decoder_layers (int): Defaults to 6.
        ffn_dims (int): FFN hidden width. Defaults to 512.
        dropout (float): attention / FFN dropout. Defaults to 0.1.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_points: int = 4,
                 num_levels: int = 4,
                 cuda_level_layout: bool = True,
                 num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims % 2:
            raise ValueError(f'PanopticTransformer: embed_dims must be even '
                             f'(sine encoding halves), got {embed_dims}')
        self.embed_dims = embed_dims
        msda = dict(embed_dims=embed_dims, num_heads=num_heads,
                    num_levels=num_levels, num_points=num_points,
                    dropout=dropout, batch_first=True,
                    cuda_level_layout=cuda_level_layout)
        ffn = dict(embed_dims=embed_dims, feedforward_channels=ffn_dims,
                   num_fcs=2, ffn_drop=dropout,
                   act_cfg=dict(type='ReLU', inplace=True))
        self.encoder = SegEncoder(
            num_layers=num_encoder_layers,
            layer_cfg=dict(self_attn_cfg=msda, ffn_cfg=ffn))
        self.decoder = SegDecoder(
            num_layers=num_decoder_layers, post_norm_cfg=None,
            return_intermediate=True,
            layer_cfg=dict(
                self_attn_cfg=dict(
                    embed_dims=embed_dims, num_heads=num_heads,
                    attn_drop=dropout, batch_first=True,
                    dropout_layer=dict(type='Dropout', drop_prob=dropout)),
                cross_attn_cfg=dict(msda), ffn_cfg=dict(ffn)))
        self.positional_encoding = SinePositionalEncoding(
            num_feats=embed_dims // 2, normalize=True, offset=-0.5)
        self.level_embeds = nn.Parameter(torch.zeros(num_levels, embed_dims))
        self.reference_points = nn.Linear(embed_dims, 2)

    def init_weights(self) -> None:
        """Xavier on every matrix, mmcv's deformable-attention init, a
        uniform xavier reference layer with zero bias and N(0, 1) level
        embeddings (as UniAD)."""
        super().init_weights()
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
        for module in self.modules():
            if isinstance(module, MultiScaleDeformableAttention):
                module.init_weights()
        nn.init.xavier_uniform_(self.reference_points.weight)
        nn.init.zeros_(self.reference_points.bias)
        nn.init.normal_(self.level_embeds)

    def forward(self, bev: Tensor, query_embed: Tensor,
                reg_branches: Optional[nn.ModuleList]) -> Dict[str, Tensor]:
        """Encodes the BEV and decodes the queries.

        Args:
            bev (Tensor): ``(B, C, H, W)``.
            query_embed (Tensor): ``(Q, 2C)`` learned queries.
            reg_branches (nn.ModuleList, optional): one box branch per
                decoder layer for the refinement; None disables it.

        Returns:
            dict[str, Tensor]: ``memory`` / ``memory_pos`` ``(B, H*W, C)``
            (encoder output and its positional encoding), ``hidden`` ``(L,
            B, Q, C)`` decoder states, ``query_pos`` ``(B, Q, C)``,
            ``init_reference`` ``(B, Q, 2)`` and ``references`` ``(L, B, Q,
            4)`` (normalised, after each layer's refinement).
        """
        batch, channels, height, width = bev.shape
        if channels != self.embed_dims:
            raise ValueError(f'PanopticTransformer: the BEV has {channels} '
                             f'channels, expected {self.embed_dims}')
        device = bev.device
        mask = bev.new_zeros((batch, height, width), dtype=torch.bool)
        pos = self.positional_encoding(mask).flatten(2).transpose(1, 2)
        memory_pos = pos + self.level_embeds[0]
        feat = bev.flatten(2).transpose(1, 2)
        shapes = torch.tensor([[height, width]], device=device)
        start = shapes.new_zeros(1)
        valid_ratios = bev.new_ones(batch, 1, 2)
        pad = mask.flatten(1)
        memory = self.encoder(query=feat, query_pos=memory_pos,
                              key_padding_mask=pad, spatial_shapes=shapes,
                              level_start_index=start,
                              valid_ratios=valid_ratios)
        query_pos, query = query_embed.split(self.embed_dims, dim=-1)
        query_pos = query_pos[None].expand(batch, -1, -1)
        query = query[None].expand(batch, -1, -1)
        init_reference = self.reference_points(query_pos).sigmoid()
        hidden, references = self.decoder(
            query=query, query_pos=query_pos, value=memory,
            key_padding_mask=pad, reference_points=init_reference,
            spatial_shapes=shapes, level_start_index=start,
            valid_ratios=valid_ratios, reg_branches=reg_branches)
        return dict(memory=memory, memory_pos=memory_pos, hidden=hidden,
                    query_pos=query_pos, init_reference=init_reference,
                    references=references)


def layer_references(init_reference: Tensor, references: Tensor) -> list:
    """The reference each decoder layer starts from, as logits: the initial
    2-d one for layer 0, then the refined 4-d box of the layer before.

    Args:
        init_reference (Tensor): ``(B, Q, 2)`` normalised.
        references (Tensor): ``(L, B, Q, 4)`` normalised.

    Returns:
        list[Tensor]: ``L`` logit tensors.
    """
    starts = [init_reference] + list(references[:-1])
    return [inverse_sigmoid(ref) for ref in starts]
