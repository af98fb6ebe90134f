"""Track query update between frames: UniAD's memory bank and query
interaction module."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS


class TrackMemoryBank(nn.Module):
    """A track's last embeddings, read by attention (UniAD's memory bank).

    A track whose newest memory slot is filled attends over its memory
    (key padding masks the empty slots), then a residual FFN follows; the
    result is projected (``save_proj``) into the newest slot when the track
    is saved. The parameter names are UniAD's ``memory_bank.*``.

    Args:
        embed_dims (int): width C.
        num_heads (int): attention heads.
        ffn_dims (int): FFN hidden width.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 ffn_dims: int) -> None:
        super().__init__()
        self.save_proj = nn.Linear(embed_dims, embed_dims)
        self.temporal_attn = nn.MultiheadAttention(embed_dims, num_heads)
        self.temporal_fc1 = nn.Linear(embed_dims, ffn_dims)
        self.temporal_fc2 = nn.Linear(ffn_dims, embed_dims)
        self.temporal_norm1 = nn.LayerNorm(embed_dims)
        self.temporal_norm2 = nn.LayerNorm(embed_dims)

    def read(self, hidden: Tensor, memory: Tensor,
             memory_pad: Tensor) -> Tensor:
        """Embeddings refined by the tracks' memories.

        Args:
            hidden (Tensor): ``(Q, C)`` decoder outputs.
            memory (Tensor): ``(Q, M, C)``.
            memory_pad (Tensor): ``(Q, M)`` bool, True for empty slots.

        Returns:
            Tensor: ``(Q, C)``; rows without a newest slot unchanged.
        """
        valid = ~memory_pad[:, -1]
        if not valid.any():
            return hidden
        embed = hidden[valid]
        keys = memory[valid].transpose(0, 1)  # (M, n, C): one set per track
        attended = self.temporal_attn(embed[None], keys, keys,
                                      key_padding_mask=memory_pad[valid],
                                      need_weights=False)[0][0]
        embed = self.temporal_norm1(embed + attended)
        embed = self.temporal_norm2(
            embed + self.temporal_fc2(F.relu(self.temporal_fc1(embed))))
        out = hidden.clone()
        out[valid] = embed
        return out

    def write(self, hidden: Tensor, memory: Tensor, memory_pad: Tensor,
              save: Tensor) -> Tuple[Tensor, Tensor]:
        """Pushes the saved tracks' projected embeddings, oldest out.

        Args:
            hidden (Tensor): ``(Q, C)`` embeddings after :meth:`read`.
            memory (Tensor): ``(Q, M, C)``.
            memory_pad (Tensor): ``(Q, M)`` bool.
            save (Tensor): ``(Q, )`` bool, the tracks to save.

        Returns:
            tuple[Tensor, Tensor]: new memory and padding mask.
        """
        if not save.any():
            return memory, memory_pad
        pushed = torch.cat([memory[:, 1:], self.save_proj(hidden)[:, None]],
                           dim=1)
        pushed_pad = torch.cat(
            [memory_pad[:, 1:], memory_pad.new_zeros(len(save), 1)], dim=1)
        return (torch.where(save[:, None, None], pushed, memory),
                torch.where(save[:, None], pushed_pad, memory_pad))


class TrackQueryInteraction(nn.Module):
    """Next-frame queries of the carried tracks (UniAD's / MOTR's query
    interaction module).

    The carried tracks' embeddings attend to each other (queries and keys
    offset by the tracks' positional queries), then a residual FFN; from
    the result, residual FFNs refresh the positional half and the content
    half of each ``2C`` query. The parameter names are UniAD's
    ``query_interact.*``.

    Args:
        embed_dims (int): width C.
        num_heads (int): attention heads.
        ffn_dims (int): FFN hidden width.
        dropout (float): dropout rate.
        update_query_pos (bool): refresh the positional half too.
    """

    def __init__(self, embed_dims: int, num_heads: int, ffn_dims: int,
                 dropout: float, update_query_pos: bool) -> None:
        super().__init__()
        self.update_query_pos = update_query_pos
        self.self_attn = nn.MultiheadAttention(embed_dims, num_heads,
                                               dropout=dropout)
        self.linear1 = nn.Linear(embed_dims, ffn_dims)
        self.linear2 = nn.Linear(ffn_dims, embed_dims)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        if update_query_pos:
            self.linear_pos1 = nn.Linear(embed_dims, ffn_dims)
            self.linear_pos2 = nn.Linear(ffn_dims, embed_dims)
            self.norm_pos = nn.LayerNorm(embed_dims)
        self.linear_feat1 = nn.Linear(embed_dims, ffn_dims)
        self.linear_feat2 = nn.Linear(ffn_dims, embed_dims)
        self.norm_feat = nn.LayerNorm(embed_dims)
        self.drop = nn.Dropout(dropout)

    def _ffn(self, first: nn.Linear, second: nn.Linear, x: Tensor) -> Tensor:
        return self.drop(second(self.drop(F.relu(first(x)))))

    def forward(self, query: Tensor, hidden: Tensor) -> Tensor:
        """Args:
            query (Tensor): ``(Q, 2C)`` current queries (position, content).
            hidden (Tensor): ``(Q, C)`` the tracks' embeddings.

        Returns:
            Tensor: ``(Q, 2C)`` next-frame queries.
        """
        pos, feat = query.chunk(2, dim=-1)
        key = (pos + hidden)[:, None]  # the tracks form one sequence
        attended = self.self_attn(key, key, hidden[:, None],
                                  need_weights=False)[0][:, 0]
        tgt = self.norm1(hidden + self.drop(attended))
        tgt = self.norm2(tgt + self._ffn(self.linear1, self.linear2, tgt))
        if self.update_query_pos:
            pos = self.norm_pos(
                pos + self._ffn(self.linear_pos1, self.linear_pos2, tgt))
        feat = self.norm_feat(
            feat + self._ffn(self.linear_feat1, self.linear_feat2, tgt))
        return torch.cat([pos, feat], dim=-1)


@MODELS.register_module()
class TrackQueryUpdate(BaseModule):
    """Turns the carried tracks' decoder outputs into next-frame queries, as
    UniAD does between frames.

    First the memory bank (:class:`TrackMemoryBank`): a track with a saved
    embedding reads its memory, and saved tracks push their embedding.
    Training saves every track every frame; inference saves a track when
    its score exceeds ``save_score_thresh`` and ``save_period`` frames have
    passed since its last save (UniAD's bookkeeping, see
    :meth:`save_mask`). Then the query interaction
    (:class:`TrackQueryInteraction`) among all carried tracks. Submodules
    are named ``memory_bank`` and ``query_interact`` and hold UniAD's
    parameter names, so official weights load with a prefix change.

    Args:
        embed_dims (int): width C; queries are ``2C``. Defaults to 256.
        num_heads (int): attention heads. Defaults to 8.
        ffn_dims (int, optional): FFN hidden width. Defaults to
            ``embed_dims`` (UniAD).
        memory_len (int): embeddings kept per track; 0 disables the memory
            bank. Defaults to 4.
        save_period (int): inference: frames between two saves of a track
            minus one. Defaults to 3 (UniAD).
        save_score_thresh (float): inference: score a saved track needs.
            Defaults to 0.0 (UniAD's ``memory_bank_score_thresh``).
        dropout (float): dropout of the query interaction. Defaults to 0.0
            (UniAD's ``merger_dropout``).
        update_query_pos (bool): refresh the positional queries. Defaults
            to True.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 ffn_dims: Optional[int] = None,
                 memory_len: int = 4,
                 save_period: int = 3,
                 save_score_thresh: float = 0.0,
                 dropout: float = 0.0,
                 update_query_pos: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if memory_len < 0 or save_period < 0:
            raise ValueError(f'TrackQueryUpdate: memory_len and save_period '
                             f'must be >= 0, got {memory_len}, {save_period}')
        ffn_dims = embed_dims if ffn_dims is None else ffn_dims
        self.embed_dims = embed_dims
        self.memory_len = memory_len
        self.save_period = save_period
        self.save_score_thresh = float(save_score_thresh)
        self.memory_bank = TrackMemoryBank(
            embed_dims, num_heads, ffn_dims) if memory_len else None
        self.query_interact = TrackQueryInteraction(
            embed_dims, num_heads, ffn_dims, dropout, update_query_pos)

    def init_weights(self) -> None:
        """Xavier-uniform matrices, as UniAD initialises both modules."""
        super().init_weights()
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

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

    def save_mask(self, scores: Tensor,
                  periods: Tensor) -> Tuple[Tensor, Tensor]:
        """Inference: which tracks save this frame, and their new periods.

        Args:
            scores (Tensor): ``(Q, )`` track scores.
            periods (Tensor): ``(Q, )`` frames left before a track may save.

        Returns:
            tuple[Tensor, Tensor]: ``(Q, )`` bool and the updated periods.
        """
        save = (periods == 0) & (scores > self.save_score_thresh)
        periods = torch.where(periods > 0, periods - 1, periods)
        return save, torch.where(save, torch.full_like(periods,
                                                       self.save_period),
                                 periods)

    def forward(self,
                query: Tensor,
                hidden: Tensor,
                memory: Tensor,
                memory_pad: Tensor,
                save: Optional[Tensor] = None
                ) -> Tuple[Tensor, Tensor, Tensor]:
        """Next-frame queries of the carried tracks.

        Args:
            query (Tensor): ``(Q, 2C)`` current queries (position, content).
            hidden (Tensor): ``(Q, C)`` decoder outputs.
            memory (Tensor): ``(Q, M, C)`` saved embeddings.
            memory_pad (Tensor): ``(Q, M)`` bool, True for empty slots.
            save (Tensor, optional): ``(Q, )`` bool, the tracks that save
                this frame; all of them when None (training).

        Returns:
            tuple[Tensor, Tensor, Tensor]: new queries ``(Q, 2C)``, memory
            and padding mask.
        """
        if not len(hidden):
            return query, memory, memory_pad
        if self.memory_bank is not None:
            hidden = self.memory_bank.read(hidden, memory, memory_pad)
            if save is None:
                save = hidden.new_ones(len(hidden), dtype=torch.bool)
            memory, memory_pad = self.memory_bank.write(
                hidden, memory, memory_pad, save)
        return self.query_interact(query, hidden), memory, memory_pad
