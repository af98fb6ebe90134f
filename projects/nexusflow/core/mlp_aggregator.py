"""Pooling + MLP aggregator: feature map or query set -> fixed vector."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from .feature_utils import check_feature

POOLS = ('avg', 'max', 'avgmax')


class _PoolLastDim(torch.autograd.Function):
    """Average and/or max over the last dim of T features, stacked to
    (T, ..., P), with a lean backward.

    ``Tensor.mean`` materialises a gradient the size of its input; the
    tapped feature also receives the task branch's gradient, so that copy
    would be one extra feature map of memory per surrogate at the backward
    peak. Here the average's gradient is a broadcast view (no copy) when
    there is no max. The max's gradient is autograd's ``amax`` rule (the
    gradient shared evenly by the entries equal to the max) built in a few
    fast passes: ``1 + sign(x - max)`` is exactly 1 at the max and 0
    elsewhere, where the comparison ops are several times slower on CPU.
    One node serves all T features, so batched surrogates pool in one call.
    """

    @staticmethod
    def forward(ctx, pool: str, *feats: Tensor) -> Tensor:
        pooled, maxima = [], []
        for feat in feats:
            parts = []
            if pool in ('avg', 'avgmax'):
                parts.append(feat.mean(dim=-1))
            if pool in ('max', 'avgmax'):
                maxima.append(feat.amax(dim=-1))
                parts.append(maxima[-1])
            pooled.append(torch.cat(parts, dim=-1) if len(parts) > 1
                          else parts[0])
        ctx.pool = pool
        ctx.shapes = [feat.shape for feat in feats]
        if maxima:
            ctx.save_for_backward(*feats, *maxima)
        return torch.stack(pooled)

    @staticmethod
    def backward(ctx, grad: Tensor):
        pool, count = ctx.pool, len(ctx.shapes)
        saved = ctx.saved_tensors
        grads = []
        for index, shape in enumerate(ctx.shapes):
            channels, size = shape[-2], shape[-1]
            grad_avg = grad_max = None
            if pool in ('avg', 'avgmax'):
                grad_avg = (grad[index, ..., :channels] / size).unsqueeze(-1)
            if pool in ('max', 'avgmax'):
                grad_max = grad[index, ..., -channels:].unsqueeze(-1)
            if grad_max is None:
                grads.append(grad_avg.expand(shape))
                continue
            feat, peak = saved[index], saved[count + index].unsqueeze(-1)
            # x - max is +0 exactly at the max and negative elsewhere.
            at_max = torch.sub(feat, peak).sign_().add_(1.0)
            # Counted in float32 at least: exact for any realistic map.
            ties = at_max.sum(dim=-1, keepdim=True, dtype=torch.promote_types(
                at_max.dtype, torch.float32))
            feat_grad = at_max.mul_(grad_max / ties)
            if grad_avg is not None:
                feat_grad = feat_grad.add_(grad_avg)
            grads.append(feat_grad)
        return (None, *grads)


def pool_last_dim(feats: Sequence[Tensor], pool: str) -> Tensor:
    """Pools each feature over its last dim and stacks the results.

    Args:
        feats (Sequence[Tensor]): T features (..., C, N) with the same
            leading dims and C; N may differ.
        pool (str): ``'avg'``, ``'max'`` or ``'avgmax'`` (both,
            concatenated as ``[avg, max]``).

    Returns:
        Tensor: (T, ..., P), P = 2C for ``'avgmax'`` else C.
    """
    return _PoolLastDim.apply(pool, *feats)


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
        if valid is None:
            return pool_last_dim([feat.movedim(dim, -1)], self.pool)[0]
        parts = []
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
