"""RealNVP stack of affine coupling layers: the invertible part of a
surrogate."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS


def _small_mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """Builds ``Linear -> ReLU -> Linear`` with a zero last layer.

    The last layer starts at zero (standard RealNVP practice) so that a
    fresh coupling layer is the identity map and training starts from the
    untouched aggregated feature.
    """
    mlp = nn.Sequential(
        nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True),
        nn.Linear(hidden_dim, out_dim))
    nn.init.zeros_(mlp[-1].weight)
    nn.init.zeros_(mlp[-1].bias)
    return mlp


def clamp_log_scale(raw: Tensor, clamp: float) -> Tensor:
    """``clamp * tanh(raw / clamp)``: a log-scale within (-clamp, clamp).

    tanh keeps ``exp(log_s)`` within [e^-c, e^c], finite in both directions
    however large the conditioning input, so the inverse stays exact.

    Args:
        raw (Tensor): the ``s`` network's output.
        clamp (float): the bound c.

    Returns:
        Tensor: the log-scale, same shape.
    """
    if clamp == 1.0:  # the same values without two no-op passes
        return torch.tanh(raw)
    return clamp * torch.tanh(raw / clamp)


class AffineCoupling(nn.Module):
    """One affine coupling layer: ``y_b = x_b * exp(log_s(x_a)) + t(x_a)``.

    The vector is split at ``dim // 2``; ``x_a`` (the conditioning half)
    passes unchanged, ``x_b`` is scaled and shifted. ``swap`` exchanges the
    roles of the two halves so that stacked layers alternate, which also
    covers odd ``dim`` (the halves then differ in size by one).

    Args:
        dim (int): size of the vectors.
        hidden_dim (int): hidden width of the ``s`` and ``t`` MLPs.
        swap (bool): condition on the second half instead of the first.
        scale_clamp (float): bound of the log-scale, ``|log_s| < scale_clamp``.
    """

    def __init__(self, dim: int, hidden_dim: int, swap: bool,
                 scale_clamp: float) -> None:
        super().__init__()
        self.split = dim // 2
        self.swap = swap
        self.scale_clamp = scale_clamp
        first, second = self.split, dim - self.split
        cond_dim, active_dim = (second, first) if swap else (first, second)
        self.s = _small_mlp(cond_dim, hidden_dim, active_dim)
        self.t = _small_mlp(cond_dim, hidden_dim, active_dim)

    def _halves(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        first, second = x[..., :self.split], x[..., self.split:]
        return (second, first) if self.swap else (first, second)

    def _join(self, cond: Tensor, active: Tensor) -> Tensor:
        parts = (active, cond) if self.swap else (cond, active)
        return torch.cat(parts, dim=-1)

    def _scale_shift(self, cond: Tensor) -> Tuple[Tensor, Tensor]:
        return clamp_log_scale(self.s(cond), self.scale_clamp), self.t(cond)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Maps ``x`` to ``y``.

        Args:
            x (Tensor): (..., dim) input.

        Returns:
            tuple[Tensor, Tensor]: ``y`` (..., dim) and the log-scales of
            the active half, whose sum is the log-determinant.
        """
        cond, active = self._halves(x)
        log_s, shift = self._scale_shift(cond)
        active = active * torch.exp(log_s) + shift
        return self._join(cond, active), log_s

    def inverse(self, y: Tensor) -> Tensor:
        """Closed-form inverse of :meth:`forward`.

        Args:
            y (Tensor): (..., dim) output of :meth:`forward`.

        Returns:
            Tensor: (..., dim) the ``x`` with ``forward(x)[0] == y``.
        """
        cond, active = self._halves(y)
        log_s, shift = self._scale_shift(cond)
        active = (active - shift) * torch.exp(-log_s)
        return self._join(cond, active)


@MODELS.register_module()
class RealNVPFlow(BaseModule):
    """Stack of affine coupling layers on alternating halves (RealNVP).

    A bijection of R^dim with a closed-form inverse; a fresh flow is the
    identity map.

    Args:
        dim (int): size of the vectors, at least 2.
        num_layers (int): number of coupling layers. Defaults to 6, the
            depth the NexusFlow ablation found best.
        hidden_dim (int, optional): hidden width of each layer's ``s`` and
            ``t`` MLPs. Defaults to ``2 * dim``.
        scale_clamp (float): bound of each log-scale. Defaults to 1.0: a
            coordinate is then scaled by at most ``e^(clamp * ceil(L / 2))``
            over L layers, which keeps the flow well conditioned, so that
            ``inverse(forward(x))`` stays accurate in float32.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 dim: int,
                 num_layers: int = 6,
                 hidden_dim: Optional[int] = None,
                 scale_clamp: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if dim < 2:
            raise ValueError(f'RealNVPFlow needs dim >= 2 to split a vector '
                             f'into two halves, got dim={dim}')
        if num_layers < 1:
            raise ValueError(f'RealNVPFlow needs num_layers >= 1, got '
                             f'{num_layers}')
        if not scale_clamp > 0:
            raise ValueError(f'RealNVPFlow needs scale_clamp > 0, got '
                             f'{scale_clamp}')
        self.dim = dim
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim or 2 * dim
        self.layers = nn.ModuleList(
            AffineCoupling(dim, self.hidden_dim, i % 2 == 1, scale_clamp)
            for i in range(num_layers))

    def _check(self, x: Tensor) -> None:
        if x.shape[-1] != self.dim:
            raise ValueError(f'RealNVPFlow(dim={self.dim}) expects inputs of '
                             f'shape (..., {self.dim}), got '
                             f'{tuple(x.shape)}')

    def forward_and_log_det(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Maps ``x`` to ``z`` and returns the log-determinant as well.

        Args:
            x (Tensor): (..., dim) input.

        Returns:
            tuple[Tensor, Tensor]: ``z`` (..., dim) and
            ``log|det dz/dx|`` per sample (...,).
        """
        self._check(x)
        log_det = x.new_zeros(x.shape[:-1])
        for layer in self.layers:
            x, log_s = layer(x)
            log_det = log_det + log_s.sum(dim=-1)
        return x, log_det

    def forward(self, x: Tensor) -> Tensor:
        """Maps ``x`` to the latent ``z``.

        Args:
            x (Tensor): (..., dim) input.

        Returns:
            Tensor: (..., dim) latent.
        """
        self._check(x)
        for layer in self.layers:
            x = layer(x)[0]
        return x

    def inverse(self, z: Tensor) -> Tensor:
        """Closed-form inverse: recovers ``x`` from ``z = forward(x)``.

        Args:
            z (Tensor): (..., dim) latent.

        Returns:
            Tensor: (..., dim) input.
        """
        self._check(z)
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_det(self, x: Tensor) -> Tensor:
        """Log of the absolute Jacobian determinant of :meth:`forward`.

        Args:
            x (Tensor): (..., dim) input.

        Returns:
            Tensor: (...,) one value per sample.
        """
        return self.forward_and_log_det(x)[1]
