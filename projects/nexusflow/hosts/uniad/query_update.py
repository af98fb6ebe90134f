"""Track query update between frames: query interaction + short memory."""
from typing import Optional, Tuple

import torch
from mmcv.cnn.bricks.transformer import FFN
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS


@MODELS.register_module()
class TrackQueryUpdate(BaseModule):
    """Turns a tracked query's decoder output into its next-frame query.

    The output embedding first attends to the track's memory (its last
    ``memory_len`` embeddings, UniAD's memory bank), then, as in MOTR's
    query interaction module, it refreshes the positional half of the query
    (``pos + FFN(h)``) and replaces the content half (``h + FFN(h)``). The
    new embedding is pushed into the memory, oldest out.

    Args:
        embed_dims (int): width C; queries are ``2C`` (position, content).
            Defaults to 256.
        num_heads (int): memory attention heads. Defaults to 8.
        ffn_dims (int): FFN hidden width. Defaults to 512.
        memory_len (int): embeddings kept per track; 0 disables the memory.
            Defaults to 4.
        dropout (float): dropout rate. Defaults to 0.0.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 ffn_dims: int = 512,
                 memory_len: int = 4,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if memory_len < 0:
            raise ValueError(f'TrackQueryUpdate: memory_len must be >= 0, '
                             f'got {memory_len}')
        self.embed_dims = embed_dims
        self.memory_len = memory_len
        self.memory_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.norm_memory = nn.LayerNorm(embed_dims)
        self.ffn_pos = FFN(embed_dims, ffn_dims, ffn_drop=dropout)
        self.norm_pos = nn.LayerNorm(embed_dims)
        self.ffn_feat = FFN(embed_dims, ffn_dims, ffn_drop=dropout)
        self.norm_feat = nn.LayerNorm(embed_dims)

    def empty_memory(self, num: int, device=None) -> Tuple[Tensor, Tensor]:
        """Memory of ``num`` new tracks.

        Args:
            num (int): number of tracks.
            device (torch.device, optional): device.

        Returns:
            tuple[Tensor, Tensor]: zeros ``(num, M, C)`` and an all-True
            ``(num, M)`` padding mask.
        """
        return (torch.zeros(num, self.memory_len, self.embed_dims,
                            device=device),
                torch.ones(num, self.memory_len, dtype=torch.bool,
                           device=device))

    def forward(self, query: Tensor, hidden: Tensor, memory: Tensor,
                memory_pad: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Next-frame queries of the kept tracks.

        Args:
            query (Tensor): ``(Q, 2C)`` current queries (position, content).
            hidden (Tensor): ``(Q, C)`` decoder outputs.
            memory (Tensor): ``(Q, M, C)`` past embeddings.
            memory_pad (Tensor): ``(Q, M)`` bool, True for empty slots.

        Returns:
            tuple[Tensor, Tensor, Tensor]: new queries ``(Q, 2C)``, memory
            and padding mask.
        """
        if not len(hidden):
            return query, memory, memory_pad
        if self.memory_len:
            # The track's own embedding is always a key, so no row of the
            # attention is fully masked (which would give NaN).
            keys = torch.cat([memory, hidden[:, None]], dim=1)
            pad = torch.cat([memory_pad, memory_pad.new_zeros(
                len(hidden), 1)], dim=1)
            attended = self.memory_attn(hidden[:, None], keys, keys,
                                        key_padding_mask=pad,
                                        need_weights=False)[0][:, 0]
            hidden = self.norm_memory(hidden + attended)
            memory = torch.cat([memory[:, 1:], hidden[:, None]], dim=1)
            memory_pad = torch.cat(
                [memory_pad[:, 1:], memory_pad.new_zeros(len(hidden), 1)],
                dim=1)
        pos, _ = query.split(self.embed_dims, dim=-1)
        pos = self.norm_pos(self.ffn_pos(hidden, identity=pos))
        feat = self.norm_feat(self.ffn_feat(hidden))
        return torch.cat([pos, feat], dim=-1), memory, memory_pad
