"""The lambda schedule of NexusFlow: stage 1 without alignment, then a
linear warm-up to the final weight."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from mmdet3d.registry import HOOKS
from ..core.surrogate_bank import SurrogateBank, check_align_weight


def _check_count(owner: str, value, name: str,
                 allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f'{owner}: {name} must be an int >= 0, got '
                         f'{value!r}')


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DDP-style wrapper, or ``model`` itself."""
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class AlignWeightHook(Hook):
    """Sets lambda (``align_weight``) of every ``SurrogateBank`` in the model.

    For models that carry NexusFlow themselves (``NexusFlowNeck``,
    ``NexusFlowWrapper``): lambda is 0 before ``begin_iter`` /
    ``begin_epoch`` (stage 1; the alignment loss stays in the graph as an
    exact zero), then rises linearly over ``warmup_iters`` to
    ``align_weight``. It is logged as ``align_weight``.

    Args:
        align_weight (float): lambda after warm-up. Defaults to 1.0.
        warmup_iters (int): iterations of the linear warm-up, counted from
            the start of alignment. Defaults to 0.
        begin_iter (int, optional): first iteration with alignment.
        begin_epoch (int, optional): first epoch with alignment (converted
            to an iteration with the train dataloader's length).
    """

    priority = 'NORMAL'

    def __init__(self,
                 align_weight: float = 1.0,
                 warmup_iters: int = 0,
                 begin_iter: Optional[int] = None,
                 begin_epoch: Optional[int] = None) -> None:
        owner = type(self).__name__
        try:
            self.align_weight = check_align_weight(align_weight)
        except ValueError as err:
            raise ValueError(f'{owner}: {err}') from None
        _check_count(owner, warmup_iters, 'warmup_iters', allow_none=False)
        _check_count(owner, begin_iter, 'begin_iter')
        _check_count(owner, begin_epoch, 'begin_epoch')
        if begin_iter is not None and begin_epoch is not None:
            raise ValueError(f'{owner}: give begin_iter or begin_epoch, '
                             f'not both')
        self.warmup_iters = warmup_iters
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self._banks: List[SurrogateBank] = []

    def align_weight_at(self, iteration: int,
                        iters_per_epoch: Optional[int] = None) -> float:
        """Lambda at a (0-based) training iteration.

        Args:
            iteration (int): the iteration about to run.
            iters_per_epoch (int, optional): needed with ``begin_epoch``.

        Returns:
            float: 0 before the alignment stage, then the warmed-up weight.
        """
        start = self.begin_iter or 0
        if self.begin_epoch is not None:
            if not iters_per_epoch:
                raise ValueError(f'{type(self).__name__}: begin_epoch needs '
                                 f'the number of iterations per epoch')
            start = self.begin_epoch * iters_per_epoch
        if iteration < start:
            return 0.0
        if self.warmup_iters:
            done = iteration - start + 1
            return self.align_weight * min(1.0, done / self.warmup_iters)
        return self.align_weight

    def _set_weight(self, runner) -> None:
        per_epoch = None
        if self.begin_epoch is not None:
            per_epoch = len(runner.train_dataloader)
        weight = self.align_weight_at(runner.iter, per_epoch)
        for bank in self._banks:
            bank.align_weight = weight
        runner.message_hub.update_scalar('train/align_weight', weight)

    def before_run(self, runner) -> None:
        """Finds the model's surrogate banks."""
        model = unwrap(runner.model)
        self._banks = [m for m in model.modules()
                       if isinstance(m, SurrogateBank)]
        if not self._banks:
            raise ValueError(
                f'{type(self).__name__} schedules lambda of a NexusFlowNeck '
                f'or NexusFlowWrapper, but the model ({type(model).__name__})'
                f' has no SurrogateBank; to add NexusFlow to an unchanged '
                f'model use NexusFlowHook with taps and surrogates')

    def before_train(self, runner) -> None:
        """Sets lambda for the first (possibly resumed) iteration."""
        self._set_weight(runner)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Sets lambda of this iteration."""
        self._set_weight(runner)
