"""Alignment losses between task latents: centroid (O(n)) and pairwise
(O(n^2))."""
from typing import Dict, Optional

import torch
from torch import Tensor, nn

from mmdet3d.registry import MODELS

REDUCTIONS = ('mean', 'sum', 'none')


def _stack_latents(owner: str, latents: Dict[str, Tensor]) -> Tensor:
    """Checks ``{task: (B, D)}`` and stacks it to (n, B, D)."""
    if not isinstance(latents, dict) or not latents:
        raise ValueError(f'{owner} expects a non-empty dict '
                         f'{{task: Tensor(B, D)}}, got {latents!r}')
    shapes = {task: tuple(z.shape) for task, z in latents.items()}
    first = next(iter(shapes.values()))
    if len(first) != 2 or any(s != first for s in shapes.values()):
        raise ValueError(f'{owner} expects every latent to have the same '
                         f'shape (B, D), got {shapes}')
    return torch.stack(list(latents.values()))


def _stack_weights(latents: Dict[str, Tensor],
                   weights: Dict[str, Tensor]) -> Tensor:
    """Checks ``{task: (B,)}`` against the latents, stacks it to (n, B, 1)."""
    if set(weights) != set(latents):
        raise ValueError(f'CentroidAlignmentLoss: weight tasks '
                         f'{sorted(weights)} must equal latent tasks '
                         f'{sorted(latents)}')
    batch = next(iter(latents.values())).shape[0]
    stacked = []
    for task in latents:
        weight = torch.as_tensor(weights[task],
                                 device=latents[task].device)
        if weight.shape != (batch, ):
            raise ValueError(f'CentroidAlignmentLoss: weights[{task!r}] must '
                             f'have shape ({batch},), got '
                             f'{tuple(weight.shape)}')
        stacked.append(weight.to(latents[task].dtype))
    stacked = torch.stack(stacked)
    if (stacked < 0).any() or not (stacked.sum(dim=0) > 0).all():
        raise ValueError('CentroidAlignmentLoss: weights must be >= 0 with a '
                         'positive sum over tasks for every sample')
    return stacked.unsqueeze(-1)


def latent_centroid(latents: Dict[str, Tensor],
                    weights: Optional[Dict[str, Tensor]] = None) -> Tensor:
    """Per-sample centroid of the task latents.

    Args:
        latents (dict[str, Tensor]): ``{task: (B, D)}``.
        weights (dict[str, Tensor], optional): ``{task: (B,)}`` non-negative
            confidences; the centroid is then ``sum_i w_i z_i / sum_i w_i``.

    Returns:
        Tensor: (B, D) centroid.
    """
    return _centroid(_stack_latents('latent_centroid', latents), latents,
                     weights)


def _centroid(stacked: Tensor, latents: Dict[str, Tensor],
              weights: Optional[Dict[str, Tensor]]) -> Tensor:
    """:func:`latent_centroid` of the already stacked (n, B, D) latents."""
    if weights is None:
        return stacked.mean(dim=0)
    weight = _stack_weights(latents, weights)
    return (weight * stacked).sum(dim=0) / weight.sum(dim=0)


def centroid_distances(
        latents: Dict[str, Tensor],
        weights: Optional[Dict[str, Tensor]] = None) -> Dict[str, Tensor]:
    """Each task's Euclidean distance to the centroid, averaged over the
    batch (for logging).

    Args:
        latents (dict[str, Tensor]): ``{task: (B, D)}``.
        weights (dict[str, Tensor], optional): see :func:`latent_centroid`.

    Returns:
        dict[str, Tensor]: ``{task: scalar}``.
    """
    centroid = latent_centroid(latents, weights)
    return {
        task: (z - centroid).norm(dim=-1).mean()
        for task, z in latents.items()
    }


class _AlignmentLoss(nn.Module):
    """Shared arguments and batch reduction of the alignment losses."""

    def __init__(self, loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: reduction must be one '
                             f'of {REDUCTIONS}, got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def _reduce(self, per_sample: Tensor) -> Tensor:
        if self.reduction == 'mean':
            per_sample = per_sample.mean()
        elif self.reduction == 'sum':
            per_sample = per_sample.sum()
        return self.loss_weight * per_sample


@MODELS.register_module()
class CentroidAlignmentLoss(_AlignmentLoss):
    """``sum_i ||z_i - z_bar||^2`` per sample, ``z_bar`` the task centroid.

    One pass over the n tasks (O(n)). With per-task confidence weights the
    centroid becomes ``sum_i w_i z_i / sum_i w_i``; the sum over tasks stays
    unweighted so that every task is still pulled.

    Args:
        loss_weight (float): multiplier of the loss. Defaults to 1.0.
        reduction (str): over the batch, ``'mean'``, ``'sum'`` or
            ``'none'``. Defaults to ``'mean'``.
    """

    def forward(self,
                latents: Dict[str, Tensor],
                weights: Optional[Dict[str, Tensor]] = None) -> Tensor:
        """Computes the loss.

        Args:
            latents (dict[str, Tensor]): ``{task: (B, D)}``.
            weights (dict[str, Tensor], optional): ``{task: (B,)}``
                non-negative confidences for the centroid.

        Returns:
            Tensor: scalar, or (B,) with ``reduction='none'``.
        """
        stacked = _stack_latents(type(self).__name__, latents)
        centroid = _centroid(stacked, latents, weights)
        per_sample = (stacked - centroid).pow(2).sum(dim=(0, 2))
        return self._reduce(per_sample)


@MODELS.register_module()
class PairwiseAlignmentLoss(_AlignmentLoss):
    """``sum_{i<j} ||z_i - z_j||^2`` per sample, over all n(n-1)/2 pairs.

    Args:
        loss_weight (float): multiplier of the loss. Defaults to 1.0.
        reduction (str): over the batch, ``'mean'``, ``'sum'`` or
            ``'none'``. Defaults to ``'mean'``.
    """

    def forward(self,
                latents: Dict[str, Tensor],
                weights: Optional[Dict[str, Tensor]] = None) -> Tensor:
        """Computes the loss.

        Args:
            latents (dict[str, Tensor]): ``{task: (B, D)}``.
            weights: must be None; confidence weights define a centroid,
                which the pairwise loss does not have.

        Returns:
            Tensor: scalar, or (B,) with ``reduction='none'``.
        """
        if weights is not None:
            raise ValueError('PairwiseAlignmentLoss takes no per-task '
                             'weights (they weight the centroid of '
                             'CentroidAlignmentLoss)')
        stacked = _stack_latents(type(self).__name__, latents)
        first, second = torch.triu_indices(
            len(stacked), len(stacked), offset=1, device=stacked.device)
        per_sample = (stacked[first] - stacked[second]).pow(2).sum(
            dim=(0, 2))
        return self._reduce(per_sample)
