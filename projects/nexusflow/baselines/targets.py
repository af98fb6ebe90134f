"""Which targets a partial-label regularizer may compare with a prediction."""
from typing import Dict, Sequence

import torch
from torch import Tensor

from ..hosts.dense.dense_losses import IGNORE_INDEX


def target_validity(task: str, target: Tensor,
                    everywhere: bool = False) -> Tensor:
    """(B, 1, H, W) bool: pixels whose target is valid.

    ``everywhere=True`` is for [0, 1] mask / heatmap targets, where a zero
    is a valid "nothing here" rather than a missing label.
    """
    if everywhere:
        return torch.ones_like(target[:, :1], dtype=torch.bool)
    if task == 'semantic':
        return (target != IGNORE_INDEX).unsqueeze(1)
    return target.abs().sum(dim=1, keepdim=True) > 0


def check_mask_tasks(owner: str, mask_tasks: Sequence[str],
                     tasks: Dict[str, int]) -> frozenset:
    """The ``mask_tasks`` of a regularizer, checked against its tasks."""
    unknown = [t for t in mask_tasks if t not in tasks]
    if unknown:
        raise ValueError(f'{owner}: mask_tasks {unknown} are not among the '
                         f'tasks {list(tasks)}')
    return frozenset(mask_tasks)
