"""An optimizer wrapper that never applies a non-finite update."""
import logging
from typing import Dict, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from mmdet3d.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class FiniteOptimWrapper(OptimWrapper):
    """mmengine's ``OptimWrapper`` that skips a step whose loss or gradients
    are NaN/Inf instead of writing them into the weights.

    Every process still runs ``backward`` (DDP's gradient all-reduce needs
    all of them), then the processes agree through one all-reduced flag:
    if any of them saw a non-finite loss or gradient, all skip the step
    together, so no process waits for another that skipped. A skipped step
    logs a warning and counts in ``skipped_steps``; the gradients are
    cleared. Gradient accumulation skips the whole accumulated update.
    ``tools/train.py`` uses it in place of ``OptimWrapper``; the arguments
    are the stock wrapper's.

    Note that a NaN that passed through BatchNorm in training mode has
    already reached its running statistics (buffers, not parameters).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skipped_steps = 0
        self._finite = True  # over the steps accumulated so far

    def update_params(self,
                      loss: torch.Tensor,
                      step_kwargs: Optional[Dict] = None,
                      zero_kwargs: Optional[Dict] = None) -> None:
        """Backward, then step unless a process saw NaN/Inf.

        Args:
            loss (Tensor): the total loss.
            step_kwargs (dict, optional): arguments of ``optimizer.step``.
            zero_kwargs (dict, optional): arguments of ``zero_grad``.
        """
        self._finite &= bool(torch.isfinite(loss.detach()).all())
        self.backward(self.scale_loss(loss))
        if not self.should_update():
            return
        if self._all_finite(loss.device):
            self.step(**(step_kwargs or {}))
        else:
            self.skipped_steps += 1
            print_log(f'FiniteOptimWrapper: the loss or a gradient is not '
                      f'finite (loss {float(loss):.4g} here); this step '
                      f'is skipped ({self.skipped_steps} step(s) so far)',
                      logger='current', level=logging.WARNING)
        self.zero_grad(**(zero_kwargs or {}))
        self._finite = True

    def _all_finite(self, device: torch.device) -> bool:
        """Whether every process saw finite losses and gradients."""
        grads = [p.grad for group in self.optimizer.param_groups
                 for p in group['params'] if p.grad is not None]
        bad = torch.zeros(1, device=device)
        if grads:  # one check on the device, read back once below
            bad += (~torch.stack([torch.isfinite(g).all()
                                  for g in grads]).all()).float()
        if not self._finite:
            bad += 1.0
        all_reduce(bad)  # sum; a no-op on one process
        return float(bad) == 0.0
