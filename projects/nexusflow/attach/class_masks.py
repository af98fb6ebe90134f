"""Class groups inside one detection head: per-class loss masks.

Most stock detectors classify every class in one head (Anchor3DHead and its
family, FCOS3D, PGD, ...). When a task is a group of classes and a sample
is unlabeled for it, the dataset wrapper removes that group's boxes, so the
head sees no positive of those classes; but its sigmoid classifier would
still learn every anchor or point of that sample as a *negative* of those
classes — "background" where nothing was labeled. Zeroing whole loss keys
(what :func:`zero_unlabeled_losses` does for per-task heads) would also
drop the labeled classes. Instead, while the detector computes the loss of a
task-mask group, each sigmoid classification loss gets a per-class weight:
0 for the classes of the group's unlabeled tasks, 1 for the rest. Those
classes then give neither positive nor negative classification loss and,
having no boxes, no regression loss; every parameter stays in the graph.
"""
import contextlib
from typing import Dict, Iterator, List, Mapping, Optional, Sequence

import torch
from torch import Tensor, nn


def classification_losses(model: nn.Module,
                          owner: str) -> Dict[str, nn.Module]:
    """The sigmoid classification losses of a detector's heads.

    Args:
        model (nn.Module): the detector.
        owner (str): who asks, for error messages.

    Returns:
        dict: ``{module path: loss module}`` of every submodule attribute
        ``loss_cls`` (mmdet's convention).

    Raises:
        ValueError: when there is none, or one is a softmax loss (its
            background class makes a per-class mask ill-defined).
    """
    found = {}
    for path, module in model.named_modules():
        loss = getattr(module, 'loss_cls', None)
        if not isinstance(loss, nn.Module):
            continue
        name = f'{path}.loss_cls' if path else 'loss_cls'
        if not getattr(loss, 'use_sigmoid', False):
            raise ValueError(
                f'{owner}: {name} ({type(loss).__name__}) is not a sigmoid '
                f'classification loss; task_classes needs per-class sigmoid '
                f'scores (softmax has a background class)')
        found[name] = loss
    if not found:
        raise ValueError(f'{owner}: task_classes needs a head with a '
                         f'`loss_cls`; {type(model).__name__} has none')
    return found


class ClassLossMask:
    """Per-class weights for the classification losses of one model.

    Args:
        model (nn.Module): the detector (unwrapped).
        task_classes (Mapping[str, Sequence[str]]): ``{task: [class name,
            ...]}``; classes of no task are always labeled.
        classes (Sequence[str]): the class names in label order (the
            dataset's ``metainfo['classes']``).
        owner (str): who asks, for error messages.
    """

    def __init__(self, model: nn.Module,
                 task_classes: Mapping[str, Sequence[str]],
                 classes: Sequence[str], owner: str) -> None:
        self.classes = list(classes)
        unknown = {task: sorted(set(names) - set(self.classes))
                   for task, names in task_classes.items()}
        unknown = {t: n for t, n in unknown.items() if n}
        if unknown:
            raise ValueError(f'{owner}: task_classes name classes the '
                             f'dataset does not have: {unknown}; its '
                             f'classes are {self.classes}')
        self.task_classes = {t: list(n) for t, n in task_classes.items()}
        self.losses = classification_losses(model, owner)
        self.owner = owner

    def weights(self, mask: Mapping[str, bool]) -> Tensor:
        """(C,) float: 0 for the classes of unlabeled tasks, else 1."""
        weight = torch.ones(len(self.classes))
        for task, names in self.task_classes.items():
            if not mask[task]:
                for name in names:
                    weight[self.classes.index(name)] = 0.0
        return weight

    @contextlib.contextmanager
    def __call__(self, mask: Mapping[str, bool]) -> Iterator[None]:
        """Applies the weights of ``mask`` to every classification loss
        called inside the ``with`` block."""
        weight = self.weights(mask)
        if bool(weight.all()):
            yield
            return
        patched: List[nn.Module] = []
        try:
            for name, loss in self.losses.items():
                loss.forward = _masked(loss.forward, weight, name,
                                       self.owner)
                patched.append(loss)
            yield
        finally:
            for loss in patched:
                del loss.forward  # back to the class's own method


def _masked(forward, class_weight: Tensor, name: str, owner: str):
    """Wraps ``loss_cls.forward(pred, target, weight, ...)`` so that the
    element weights are multiplied by ``class_weight`` along the classes."""

    def masked(pred: Tensor, target: Tensor,
               weight: Optional[Tensor] = None, *args, **kwargs) -> Tensor:
        if pred.dim() != 2 or pred.size(1) != class_weight.numel():
            raise ValueError(
                f'{owner}: {name} scores have shape {tuple(pred.shape)}; '
                f'task_classes needs (N, {class_weight.numel()}) scores, one '
                f'column per dataset class')
        per_class = class_weight.to(pred).expand_as(pred)
        if weight is None:
            weight = per_class
        elif weight.shape == pred.shape:
            weight = weight * per_class
        else:
            weight = weight.reshape(-1, 1).to(pred) * per_class
        return forward(pred, target, weight, *args, **kwargs)

    return masked
