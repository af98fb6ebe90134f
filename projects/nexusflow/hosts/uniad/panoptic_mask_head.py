"""Mask decoders of UniAD's panoptic map head (Panoptic SegFormer style).

Each layer lets the queries attend to the encoder memory; the per-head
attention logits of that cross-attention, mixed over the heads by a small
MLP, are the layer's mask (one value per BEV cell). A last attention step
without value path gives the final mask. The thing decoder has no
self-attention (each query is decoded on its own); the stuff decoder adds
one before each cross-attention.
"""
from typing import List, Optional, Tuple

from mmcv.cnn.bricks.transformer import FFN, MultiheadAttention
from torch import Tensor, nn

# Panoptic SegFormer's mask decoder normalises with this epsilon.
NORM_EPS = 1e-6


class MaskAttention(nn.Module):
    """Multi-head cross-attention whose attention logits also give a mask.

    ``logits = (q k^T) / sqrt(d)`` per head; the mask is ``relu(W2
    relu(W1 logits_per_cell))``, W1 mixing the heads and W2 reducing them to
    one value. With ``with_value`` the usual attention output
    ``proj(softmax(logits) v)`` is returned too.

    Args:
        embed_dims (int): width.
        num_heads (int): heads.
        with_value (bool): build the value path and the output projection.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 with_value: bool = True) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'MaskAttention: embed_dims {embed_dims} is not '
                             f'a multiple of num_heads {num_heads}')
        self.num_heads = num_heads
        self.scale = (embed_dims // num_heads)**-0.5
        self.q_proj = nn.Linear(embed_dims, embed_dims)
        self.k_proj = nn.Linear(embed_dims, embed_dims)
        self.with_value = with_value
        if with_value:
            self.v_proj = nn.Linear(embed_dims, embed_dims)
            self.out_proj = nn.Linear(embed_dims, embed_dims)
        self.head_mix = nn.Sequential(nn.Linear(num_heads, num_heads),
                                      nn.ReLU())
        self.to_mask = nn.Sequential(nn.Linear(num_heads, 1), nn.ReLU())

    def _heads(self, x: Tensor) -> Tensor:
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def forward(self, query: Tensor, key: Tensor,
                value: Optional[Tensor] = None
                ) -> Tuple[Optional[Tensor], Tensor]:
        """Attention output and mask.

        Args:
            query (Tensor): ``(B, N, C)``.
            key (Tensor): ``(B, L, C)``.
            value (Tensor, optional): ``(B, L, C)``; needed with
                ``with_value``.

        Returns:
            tuple: ``(B, N, C)`` output (None without value path) and the
            ``(B, N, L)`` mask.
        """
        logits = self._heads(self.q_proj(query)) @ \
            self._heads(self.k_proj(key)).transpose(-2, -1) * self.scale
        mask = self.to_mask(self.head_mix(logits.permute(0, 2, 3, 1)))
        if not self.with_value:
            return None, mask[..., 0]
        out = logits.softmax(-1) @ self._heads(self.v_proj(value))
        return self.out_proj(out.transpose(1, 2).flatten(2)), mask[..., 0]


class MaskDecoderLayer(nn.Module):
    """(Self-attention, norm,) mask cross-attention, norm, MLP, norm; each
    with a residual (post-norm).

    Args:
        embed_dims (int): width.
        num_heads (int): heads.
        mlp_ratio (int): MLP hidden width / ``embed_dims``.
        self_attn (bool): add the self-attention step (stuff decoder).
    """

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: int,
                 self_attn: bool) -> None:
        super().__init__()
        self.self_attn = MultiheadAttention(
            embed_dims, num_heads, batch_first=True) if self_attn else None
        self.self_norm = nn.LayerNorm(embed_dims, eps=NORM_EPS) \
            if self_attn else None
        self.cross_attn = MaskAttention(embed_dims, num_heads)
        self.norm1 = nn.LayerNorm(embed_dims, eps=NORM_EPS)
        self.ffn = FFN(embed_dims=embed_dims,
                       feedforward_channels=embed_dims * mlp_ratio,
                       act_cfg=dict(type='GELU'), ffn_drop=0.0)
        self.norm2 = nn.LayerNorm(embed_dims, eps=NORM_EPS)

    def forward(self, query: Tensor, memory: Tensor) -> Tuple[Tensor, Tensor]:
        """One layer.

        Args:
            query (Tensor): ``(B, N, C)`` (positional part included).
            memory (Tensor): ``(B, L, C)``.

        Returns:
            tuple[Tensor, Tensor]: the new ``(B, N, C)`` queries and the
            ``(B, N, L)`` mask.
        """
        if self.self_attn is not None:
            query = self.self_norm(self.self_attn(query))
        out, mask = self.cross_attn(query, memory, memory)
        query = self.norm1(query + out)
        return self.norm2(self.ffn(query)), mask


class PanopticMaskDecoder(nn.Module):
    """A stack of :class:`MaskDecoderLayer` and a final mask attention.

    The queries' positional part (if any) is added again before every
    layer; the memory is used without positional encoding (as UniAD).

    Args:
        embed_dims (int): width. Defaults to 256.
        num_heads (int): heads. Defaults to 8.
        num_layers (int): layers. Defaults to 4.
        mlp_ratio (int): MLP hidden width / ``embed_dims``. Defaults to 4.
        self_attn (bool): self-attention among the queries (stuff).
            Defaults to False.
    """

    def __init__(self, embed_dims: int = 256, num_heads: int = 8,
                 num_layers: int = 4, mlp_ratio: int = 4,
                 self_attn: bool = False) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'PanopticMaskDecoder: num_layers must be >= 1, '
                             f'got {num_layers}')
        self.layers = nn.ModuleList(
            MaskDecoderLayer(embed_dims, num_heads, mlp_ratio, self_attn)
            for _ in range(num_layers))
        self.final_attn = MaskAttention(embed_dims, num_heads,
                                        with_value=False)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def init_weights(self) -> None:
        """Xavier on every matrix (as UniAD); biases keep PyTorch's init."""
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def forward(self, memory: Tensor, query: Tensor,
                query_pos: Optional[Tensor] = None
                ) -> Tuple[Tensor, List[Tensor], List[Tensor]]:
        """Decodes masks.

        Args:
            memory (Tensor): ``(B, L, C)`` encoder output.
            query (Tensor): ``(B, N, C)``.
            query_pos (Tensor, optional): ``(B, N, C)`` or broadcastable.

        Returns:
            tuple: the final ``(B, N, L)`` masks, each layer's ``(B, N,
            L)`` masks and each layer's ``(B, N, C)`` queries.
        """
        masks, queries = [], []
        for layer in self.layers:
            query, mask = layer(
                query if query_pos is None else query + query_pos, memory)
            masks.append(mask)
            queries.append(query)
        final = query if query_pos is None else query + query_pos
        _, mask = self.final_attn(final, memory)
        return mask, masks, queries
