"""Supervised dense losses restricted to the labeled samples of a batch.

Each loss averages over the valid pixels of the samples labeled for its
task. With no such pixel it returns ``graph_zero(pred)``: an exact zero
that keeps the head's parameters in the graph (DDP needs them used).
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from ...utils.graph import graph_zero

IGNORE_INDEX = -1


def semantic_loss(logits: Tensor, target: Tensor, labeled: Tensor) -> Tensor:
    """Cross-entropy over labeled, non-ignored pixels.

    Args:
        logits (Tensor): (B, K, H, W).
        target (Tensor): (B, H, W) class ids, -1 = ignore.
        labeled (Tensor): (B,) bool, samples labeled for the task.

    Returns:
        Tensor: scalar loss.
    """
    target = target.masked_fill(~labeled.view(-1, 1, 1), IGNORE_INDEX)
    valid = int((target != IGNORE_INDEX).sum())
    if valid == 0:
        return graph_zero(logits)
    return F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX,
                           reduction='sum') / valid


def depth_loss(pred: Tensor, target: Tensor, labeled: Tensor) -> Tensor:
    """L1 over labeled pixels with a nonzero depth target.

    Args:
        pred (Tensor): (B, 1, H, W).
        target (Tensor): (B, 1, H, W), 0 = invalid.
        labeled (Tensor): (B,) bool.

    Returns:
        Tensor: scalar loss.
    """
    valid = (target != 0) & labeled.view(-1, 1, 1, 1)
    if not valid.any():
        return graph_zero(pred)
    return (pred - target).abs()[valid].mean()


def normal_loss(pred: Tensor, target: Tensor, labeled: Tensor) -> Tensor:
    """``1 - cos`` between unit normals, over labeled valid pixels.

    Args:
        pred (Tensor): (B, 3, H, W) unit normals.
        target (Tensor): (B, 3, H, W), all-zero = invalid.
        labeled (Tensor): (B,) bool.

    Returns:
        Tensor: scalar loss.
    """
    valid = (target.abs().sum(dim=1) > 0) & labeled.view(-1, 1, 1)
    if not valid.any():
        return graph_zero(pred)
    cos = (pred * target).sum(dim=1)
    return (1.0 - cos)[valid].mean()


TASK_LOSSES = dict(semantic=semantic_loss, depth=depth_loss,
                   normal=normal_loss)


def labeled_tensor(masks, task: str, device: torch.device) -> Tensor:
    """(B,) bool from per-sample ``{task: labeled}`` dicts."""
    return torch.tensor([m[task] for m in masks], dtype=torch.bool,
                        device=device)
