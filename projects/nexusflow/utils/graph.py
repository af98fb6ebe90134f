"""An exact zero that keeps tensors and parameters in the autograd graph.

DistributedDataParallel without ``find_unused_parameters`` expects every
parameter to receive a gradient on every step. A loss that has nothing to
supervise (no labeled sample, no target box, an idle branch) would otherwise
leave its parameters out of the graph; adding ``x.sum() * 0.0`` instead gives
them an exact zero gradient and leaves the loss value unchanged.
"""
from typing import Iterable, Iterator, Union

from torch import Tensor, nn

GraphSource = Union[Tensor, nn.Module, Iterable[Tensor]]


def _tensors(sources: Iterable[GraphSource]) -> Iterator[Tensor]:
    for source in sources:
        if isinstance(source, Tensor):
            yield source
        elif isinstance(source, nn.Module):
            yield from source.parameters()
        else:
            yield from source


def graph_zero(*sources: GraphSource) -> Tensor:
    """``(sum of all given tensors) * 0.0``, an exact scalar zero (NaN if a
    tensor holds inf or NaN, as the plain product would).

    The sum runs in the order given, starting from the first tensor (no
    ``0 +``), so ``graph_zero(x)`` is bit-identical to ``x.sum() * 0.0``.

    Args:
        *sources (Tensor | nn.Module | Iterable[Tensor]): tensors, modules
            (all their parameters) or iterables of tensors to tie in.

    Returns:
        Tensor: a 0-dim zero with a gradient path to every given tensor.

    Raises:
        ValueError: nothing to tie in (no tensor, no parameter), since a
            plain zero would silently leave the graph.
    """
    total = None
    for tensor in _tensors(sources):
        total = tensor.sum() if total is None else total + tensor.sum()
    if total is None:
        raise ValueError('graph_zero: no tensor or parameter given; there is '
                         'nothing to keep in the graph')
    return total * 0.0
