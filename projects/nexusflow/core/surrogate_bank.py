"""The part of NexusFlow shared by the neck, the wrapper and the drop-in
hook: one surrogate per task, the alignment loss and its weight."""
import logging
import math
from typing import Dict, Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.module import (_global_forward_hooks,
                                     _global_forward_pre_hooks)

from mmdet3d.registry import MODELS
from .alignment_loss import centroid_distances
from .batched_surrogates import encode_batched

Feature = Union[Tensor, tuple]


def check_align_weight(value: float) -> float:
    """Returns ``value`` as float if it is a valid alignment weight.

    Args:
        value (float): the weight lambda.

    Returns:
        float: ``value``.
    """
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f'align_weight (lambda) must be a finite number '
                         f'>= 0, got {value}')
    return value


@MODELS.register_module()
class SurrogateBank(BaseModule):
    """Task surrogates + alignment loss, with a mutable weight lambda.

    Args:
        surrogates (dict[str, dict]): ``{task: TaskSurrogate config}``; the
            ``type`` defaults to ``'TaskSurrogate'``. All surrogates must map
            to latents of the same size.
        alignment (dict): config of the alignment loss, e.g.
            ``dict(type='CentroidAlignmentLoss')``.
        align_weight (float): lambda, the multiplier of the alignment loss;
            0 disables alignment. Defaults to 1.0.
        batched (bool): run the tasks' surrogates together where their
            shapes allow (:mod:`.batched_surrogates`): the same latents to
            float rounding in far fewer ops. False runs each surrogate
            module on its own. Either way the parameters live in the
            per-task modules. Defaults to True.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 surrogates: Dict[str, dict],
                 alignment: dict,
                 align_weight: float = 1.0,
                 batched: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not isinstance(surrogates, dict) or not surrogates:
            raise ValueError(f'SurrogateBank: surrogates must be a non-empty '
                             f'dict {{task: config}}, got {surrogates!r}')
        self.surrogates = nn.ModuleDict({
            task: MODELS.build(dict(dict(type='TaskSurrogate'), **cfg))
            for task, cfg in surrogates.items()
        })
        dims = {task: s.out_dim for task, s in self.surrogates.items()}
        if len(set(dims.values())) != 1:
            raise ValueError(f'SurrogateBank: every surrogate must map to '
                             f'the same latent size, got {dims}')
        self.alignment = MODELS.build(alignment)
        self.align_weight = align_weight
        self.batched = batched
        self.nonfinite_steps = 0  # steps whose alignment was dropped

    @property
    def tasks(self) -> list:
        """Task names, in config order."""
        return list(self.surrogates.keys())

    @property
    def align_weight(self) -> float:
        """Lambda, the multiplier of the alignment loss (>= 0)."""
        return self._align_weight

    @align_weight.setter
    def align_weight(self, value: float) -> None:
        self._align_weight = check_align_weight(value)

    def check_tasks(self, tasks, what: str) -> None:
        """Raises if ``tasks`` are not exactly the surrogates' tasks.

        Args:
            tasks (Iterable[str]): task names to check.
            what (str): what the names are, for the message.
        """
        if set(tasks) != set(self.surrogates):
            raise ValueError(f'{what} tasks {sorted(tasks)} must equal the '
                             f'surrogate tasks {sorted(self.surrogates)}')

    def encode(self, feats: Dict[str, Feature]) -> Dict[str, Tensor]:
        """Maps each task feature to its latent.

        Args:
            feats (dict): ``{task: feature}``; a feature is a (B, C, H, W)
                map, a (B, Q, C) query set, or a ``(query_set,
                padding_mask)`` tuple.

        Returns:
            dict[str, Tensor]: ``{task: (B, D)}``.
        """
        self.check_tasks(feats, 'feature')
        if self.batched and len(self.surrogates) > 1 and \
                not self._hooked() and not self._autocast():
            return encode_batched(self.surrogates, feats)
        latents = {}
        for task, surrogate in self.surrogates.items():
            feat = feats[task]
            args = tuple(feat) if isinstance(feat, (tuple, list)) else (feat, )
            try:
                latents[task] = surrogate(*args)
            except ValueError as err:
                raise ValueError(f'surrogate {task!r}: {err}') from None
        return latents

    def _hooked(self) -> bool:
        """Whether hooks watch a surrogate, its aggregator or its flow (the
        latent recorder of the analysis tools hooks the first two): they
        only fire on the per-task path. Hooks deeper inside are not looked
        for, as walking every submodule each step would cost more than
        batching saves."""
        if _global_forward_hooks or _global_forward_pre_hooks:
            return True
        for surrogate in self.surrogates.values():
            for module in (surrogate, surrogate.aggregator, surrogate.flow):
                if module._forward_hooks or module._forward_pre_hooks or \
                        module._backward_hooks or \
                        module._backward_pre_hooks:
                    return True
        return False

    def _autocast(self) -> bool:
        """Whether autocast is on for the surrogates' device: mixed
        precision takes the per-task path, whose ops autocast casts one by
        one (the batched path's hand-written backward assumes one dtype)."""
        device = next(self.parameters()).device.type
        return torch.is_autocast_enabled(device)

    def align(self,
              latents: Dict[str, Tensor],
              weights: Optional[Dict[str, Tensor]] = None
              ) -> Dict[str, Tensor]:
        """Alignment loss (times lambda) and per-task distances.

        Args:
            latents (dict[str, Tensor]): ``{task: (B, D)}``.
            weights (dict[str, Tensor], optional): per-task confidences for
                a centroid loss.

        Returns:
            dict[str, Tensor]: ``loss_align`` and detached ``dist_<task>``.
        """
        self.check_tasks(latents, 'latent')
        loss = self.alignment(latents, weights) if weights is not None \
            else self.alignment(latents)
        if not bool(torch.isfinite(loss)):
            # A NaN feature at a tap or an exploding flow: the step keeps
            # the host's task losses and drops only the alignment, as an
            # exact zero that reaches no NaN gradient to the host.
            self.nonfinite_steps += 1
            print_log(f'SurrogateBank: the alignment loss is {float(loss)}; '
                      f'this step\'s alignment is dropped '
                      f'({self.nonfinite_steps} step(s) so far)',
                      logger='current', level=logging.WARNING)
            # Each parameter times 0 before summing: finite however large.
            loss = sum((p * 0.0).sum() for p in self.parameters())
        # lambda = 0 still multiplies (no early return): the loss is an exact
        # zero but every surrogate parameter stays in the graph, as DDP
        # without find_unused_parameters requires.
        losses = dict(loss_align=loss * self.align_weight)
        distances = centroid_distances(
            {task: z.detach() for task, z in latents.items()}, weights)
        losses.update(
            {f'dist_{task}': dist for task, dist in distances.items()})
        return losses

    def forward(self,
                feats: Dict[str, Feature],
                weights: Optional[Dict[str, Tensor]] = None
                ) -> Dict[str, Tensor]:
        """Encodes the task features and aligns their latents.

        Args:
            feats (dict): ``{task: feature}``, see :meth:`encode`.
            weights (dict[str, Tensor], optional): per-task confidences.

        Returns:
            dict[str, Tensor]: ``loss_align`` (already times lambda) and
            detached ``dist_<task>`` for logging.
        """
        return self.align(self.encode(feats), weights)


class BankOwner:
    """Mixin of the modules that carry their surrogates as ``self.bank``
    (``NexusFlowNeck``, ``NexusFlowWrapper``): the bank's tasks and lambda
    as their own attributes."""

    bank: SurrogateBank

    @property
    def tasks(self) -> list:
        """Task names."""
        return self.bank.tasks

    @property
    def align_weight(self) -> float:
        """Lambda, the multiplier of the alignment loss (>= 0)."""
        return self.bank.align_weight

    @align_weight.setter
    def align_weight(self, value: float) -> None:
        self.bank.align_weight = value
