"""Input checks shared by the aggregators: maps (B, C, H, W) and query sets
(B, Q, C) with an optional key-padding mask."""
from typing import Optional

from torch import Tensor


def check_feature(owner: str, feat: Tensor, in_channels: int,
                  padding_mask: Optional[Tensor] = None) -> str:
    """Validates an aggregator input and tells which kind it is.

    Args:
        owner (str): class name used in the error message.
        feat (Tensor): (B, C, H, W) map or (B, Q, C) query set.
        in_channels (int): the expected C.
        padding_mask (Tensor, optional): (B, Q) bool, True marks padding;
            only for query sets.

    Returns:
        str: ``'map'`` or ``'query'``.
    """
    if not isinstance(feat, Tensor) or feat.dim() not in (3, 4):
        shape = tuple(feat.shape) if isinstance(feat, Tensor) else type(feat)
        raise ValueError(f'{owner} expects a (B, C, H, W) map or a (B, Q, C) '
                         f'query set, got {shape}')
    kind = 'map' if feat.dim() == 4 else 'query'
    channels = feat.shape[1] if kind == 'map' else feat.shape[2]
    if channels != in_channels:
        layout = '(B, C, H, W)' if kind == 'map' else '(B, Q, C)'
        raise ValueError(f'{owner}(in_channels={in_channels}) got a {layout} '
                         f'input with C={channels}: {tuple(feat.shape)}')
    if padding_mask is not None:
        if kind == 'map':
            raise ValueError(f'{owner}: padding_mask applies to (B, Q, C) '
                             f'query sets only, got a map '
                             f'{tuple(feat.shape)}')
        if tuple(padding_mask.shape) != tuple(feat.shape[:2]):
            raise ValueError(f'{owner}: padding_mask must have shape (B, Q) = '
                             f'{tuple(feat.shape[:2])}, got '
                             f'{tuple(padding_mask.shape)}')
    return kind
