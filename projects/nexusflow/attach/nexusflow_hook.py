"""NexusFlow as a drop-in hook for an unchanged config."""
import logging
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.optim import BaseOptimWrapper
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from mmdet3d.registry import HOOKS
from ..core.surrogate_bank import SurrogateBank
from .align_weight_hook import AlignWeightHook, unwrap
from .class_masks import ClassLossMask
from .feature_taps import FeatureTaps
from .grouped_loss import (GroupFeatures, align_groups, check_task_names,
                           grouped_task_losses)
from .param_groups import add_param_group, follow_host, scheduled_params

CHECKPOINT_KEY = 'nexusflow'


class _AlignStep(nn.Module):
    """The bank's whole per-step work in one forward, so that a DDP wrapper
    around it sees every use of the surrogate parameters."""

    def __init__(self, bank: SurrogateBank) -> None:
        super().__init__()
        self.bank = bank

    def forward(self, group_feats: GroupFeatures) -> Dict[str, Tensor]:
        return align_groups(self.bank, group_feats)


@HOOKS.register_module()
class NexusFlowHook(AlignWeightHook):
    """Adds NexusFlow to an unchanged model.

    Before the run the hook builds a :class:`SurrogateBank` on the model's
    device, adds its parameters to the optimizer as a new group (registered
    with the parameter schedulers), wraps it in its own DDP when training is
    distributed, and replaces the model's ``loss`` by: the model's own loss
    per task-mask group, unlabeled tasks' losses times 0.0, plus
    ``lambda * L_align`` over all samples. The forward pass and ``predict``
    are unchanged. The bank's weights travel in ``checkpoint['nexusflow']``;
    ``checkpoint['state_dict']`` stays the host's. The group's optimizer
    state is part of the optimizer's state dict: the bank is added before
    checkpoints are loaded, so resuming is exact.

    Lambda follows :class:`AlignWeightHook`'s schedule (which alone serves
    models that carry a ``NexusFlowNeck`` or ``NexusFlowWrapper``);
    ``loss_align`` and each task's ``dist_<task>`` come with the losses.

    Args:
        taps (dict): ``{task: module path}`` in the (unwrapped) model, or
            ``{task: dict(module=path, index=i, key=k)}``; see
            :class:`FeatureTaps`.
        surrogates (dict): ``{task: TaskSurrogate config}``.
        alignment (dict, optional): alignment loss config. Defaults to
            ``dict(type='CentroidAlignmentLoss')``.
        task_losses (dict, optional): ``{task: [loss key prefix or regex,
            ...]}``: the tasks that have their own head's loss keys
            (CenterPoint's class-group heads).
        task_classes (dict, optional): ``{task: [class name, ...]}``: the
            tasks that are class groups inside one head (Anchor3DHead,
            FCOS3D, ...; see :class:`ClassLossMask`). Every task is in
            ``task_losses`` or ``task_classes`` when samples have unlabeled
            tasks.
        align_weight (float): lambda after warm-up. Defaults to 1.0.
        warmup_iters (int): iterations of the linear warm-up of lambda,
            counted from the start of alignment. Defaults to 0.
        begin_iter (int, optional): first iteration with alignment.
        begin_epoch (int, optional): first epoch with alignment.
        param_group (dict, optional): optimizer settings of the surrogates'
            group, e.g. ``dict(lr=1e-3, weight_decay=0.0)``; unset ones are
            the optimizer's defaults. Every scheduled setting (lr,
            momentum, ...) then follows the host's schedule as a ratio: the
            group's own value times the host group's current / initial
            value, whatever the schedulers (absolute bounds included).
    """

    def __init__(self,
                 taps: Optional[Dict[str, Union[str, dict]]] = None,
                 surrogates: Optional[Dict[str, dict]] = None,
                 alignment: Optional[dict] = None,
                 task_losses: Optional[Dict[str, Sequence[str]]] = None,
                 align_weight: float = 1.0,
                 warmup_iters: int = 0,
                 begin_iter: Optional[int] = None,
                 begin_epoch: Optional[int] = None,
                 param_group: Optional[dict] = None,
                 task_classes: Optional[Dict[str, Sequence[str]]] = None
                 ) -> None:
        super().__init__(align_weight, warmup_iters, begin_iter, begin_epoch)
        if not taps or not surrogates:
            raise ValueError(
                'NexusFlowHook adds NexusFlow to an unchanged model and needs '
                'taps and surrogates; to schedule lambda of a model with a '
                'NexusFlowNeck or NexusFlowWrapper use '
                'dict(type=\'AlignWeightHook\', ...)')
        check_task_names('NexusFlowHook', taps, surrogates, task_losses,
                         task_classes)
        self.taps_cfg = taps
        self.surrogates_cfg = surrogates
        self.alignment_cfg = alignment or dict(type='CentroidAlignmentLoss')
        self.task_losses = task_losses
        self.task_classes = task_classes
        self.class_mask: Optional[ClassLossMask] = None
        self.param_group = param_group
        self.bank: Optional[SurrogateBank] = None
        self.taps: Optional[FeatureTaps] = None
        self._align_step: Optional[nn.Module] = None
        self._patched: Optional[nn.Module] = None
        self._group: Optional[dict] = None
        self._scheduled: list = []

    def before_run(self, runner) -> None:
        """Builds the surrogates; patches the loss for training."""
        model = unwrap(runner.model)
        if any(isinstance(m, SurrogateBank) for m in model.modules()):
            raise ValueError(f'NexusFlowHook: the model '
                             f'({type(model).__name__}) already has a '
                             f'SurrogateBank; use AlignWeightHook to '
                             f'schedule it instead of adding one')
        self.taps = FeatureTaps(model, self.taps_cfg, 'NexusFlowHook')
        if not isinstance(runner.optim_wrapper, BaseOptimWrapper):
            return  # validation/test run: nothing to train
        if self.task_classes:
            classes = runner.train_dataloader.dataset.metainfo['classes']
            self.class_mask = ClassLossMask(model, self.task_classes,
                                            classes, 'NexusFlowHook')
        self._build_bank(runner, model)
        self._patch_loss(model)

    def _build_bank(self, runner, model: nn.Module) -> None:
        device = next(model.parameters()).device
        # A forked RNG keeps the host's weight initialisation (drawn after
        # this hook) identical to a run without NexusFlow.
        with torch.random.fork_rng(devices=[]):
            bank = SurrogateBank(self.surrogates_cfg, self.alignment_cfg,
                                 self.align_weight)
            bank.init_weights()
        self.bank = bank.to(device)
        self._banks = [self.bank]
        step = _AlignStep(self.bank)
        if get_world_size() > 1:
            step = DistributedDataParallel(
                step,
                device_ids=None if device.type == 'cpu' else [device],
                broadcast_buffers=False)
        self._align_step = step
        self._group = add_param_group(runner.optim_wrapper,
                                      self.bank.parameters(),
                                      runner.param_schedulers,
                                      self.param_group)
        self._scheduled = scheduled_params(runner.param_schedulers)
        count = sum(p.numel() for p in self.bank.parameters())
        print_log(f'NexusFlowHook: {len(self.bank.tasks)} surrogates '
                  f'{self.bank.tasks} ({count} parameters) tap '
                  f'{self.taps_cfg}', logger='current')

    def _patch_loss(self, model: nn.Module) -> None:
        original = model.loss

        def loss(inputs, data_samples, **kwargs) -> Dict[str, Tensor]:
            losses, group_feats = grouped_task_losses(
                original, inputs, data_samples, self.taps, self.bank.tasks,
                self.task_losses, 'NexusFlowHook', self.class_mask, **kwargs)
            losses.update(self._align_step(group_feats))
            return losses

        # An instance attribute shadows the class's method, so the model's
        # own forward (and any DDP wrapper around it) reaches this one.
        model.loss = loss
        self._patched = model

    def _set_weight(self, runner) -> None:
        super()._set_weight(runner)
        if self._group is not None:
            # The surrogates' group follows the host's schedule as a ratio.
            follow_host(self._group,
                        runner.optim_wrapper.optimizer.param_groups[0],
                        self._scheduled)

    def after_run(self, runner) -> None:
        """Restores the model's own ``loss``."""
        if self._patched is not None:
            del self._patched.loss
            self._patched = None

    # ---------------------------------------------------------- checkpoints
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Stores the surrogates under ``checkpoint['nexusflow']``."""
        if self.bank is None:
            return
        checkpoint[CHECKPOINT_KEY] = dict(
            tasks=self.bank.tasks,
            state_dict={k: v.detach().cpu()
                        for k, v in self.bank.state_dict().items()})

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restores the surrogates from ``checkpoint['nexusflow']``."""
        if self.bank is None:
            return
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            print_log('NexusFlowHook: the checkpoint has no surrogates '
                      f'(no {CHECKPOINT_KEY!r} entry); they start fresh',
                      logger='current', level=logging.WARNING)
            return
        if list(saved['tasks']) != self.bank.tasks:
            raise ValueError(f'NexusFlowHook: the checkpoint\'s surrogates '
                             f'are for tasks {list(saved["tasks"])}, the '
                             f'hook\'s for {self.bank.tasks}')
        self.bank.load_state_dict(saved['state_dict'])
