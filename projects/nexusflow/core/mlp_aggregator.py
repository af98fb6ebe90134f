"""Pooling + MLP aggregator: feature map or query set -> fixed vector."""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .feature_utils import check_feature

POOLS = ('avg', 'max', 'avgmax')


class _BroadcastMean(torch.autograd.Function):
    """Mean over the last dim whose gradient is a broadcast view.

    ``Tensor.mean`` materialises a gradient the size of its input. The
    tapped feature also receives the task branch's gradient, so that copy
    would be one extra feature map of memory per surrogate at the backward
    peak; an expanded view costs nothing and is summed into the other
    gradient.
    """

    @staticmethod
    def forward(ctx, feat: Tensor) -> Tensor:
        ctx.shape = feat.shape
        return feat.mean(dim=-1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return (grad / ctx.shape[-1]).unsqueeze(-1).expand(ctx.shape)


@MODELS.register_module()
class MLPAggregator(BaseModule):
    """Pools a feature over its spatial / query axis, then applies an MLP.

    Args:
        in_channels (int): channels C of the input.
        out_dim (int): size of the output vector.
        hidden_dim (int, optional): hidden width of the MLP. Defaults to
            ``out_dim``.
        pool (str): ``'avg'``, ``'max'`` or ``'avgmax'`` (both,
            concatenated). Defaults to ``'avg'``.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_dim: int,
                 hidden_dim: Optional[int] = None,
                 pool: str = 'avg',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if pool not in POOLS:
            raise ValueError(f'MLPAggregator: pool must be one of {POOLS}, '
                             f'got {pool!r}')
        self.in_channels = in_channels
        self.out_dim = out_dim
        self.pool = pool
        hidden_dim = hidden_dim or out_dim
        pooled = 2 * in_channels if pool == 'avgmax' else in_channels
        self.mlp = nn.Sequential(
            nn.Linear(pooled, hidden_dim), nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, out_dim))

    def _pool(self, feat: Tensor, valid: Optional[Tensor],
              dim: int) -> Tensor:
        """Pools over ``dim``; ``valid`` (B, N) masks a (B, N, C) set."""
        parts = []
        if valid is None:
            if self.pool in ('avg', 'avgmax'):
                parts.append(_BroadcastMean.apply(feat.movedim(dim, -1)))
            if self.pool in ('max', 'avgmax'):
                parts.append(feat.amax(dim=dim))
            return torch.cat(parts, dim=-1)
        weight = valid.unsqueeze(-1).to(feat.dtype)
        if self.pool in ('avg', 'avgmax'):
            # A sample with every query padded pools to zeros, not NaN.
            count = weight.sum(dim=1).clamp(min=1.0)
            parts.append((feat * weight).sum(dim=1) / count)
        if self.pool in ('max', 'avgmax'):
            masked = feat.masked_fill(~valid.unsqueeze(-1), float('-inf'))
            pooled = masked.amax(dim=1)
            parts.append(torch.where(valid.any(dim=1, keepdim=True), pooled,
                                     torch.zeros_like(pooled)))
        return torch.cat(parts, dim=-1)

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
        kind = check_feature('MLPAggregator', feat, self.in_channels,
                             padding_mask)
        if kind == 'map':
            # Pool (B, C, H*W) as is: a transposed copy of a large BEV map
            # would cost memory.
            return self.mlp(self._pool(feat.flatten(2), None, dim=2))
        valid = None if padding_mask is None else ~padding_mask.bool()
        return self.mlp(self._pool(feat, valid, dim=1))
