"""Faults on purpose, to test that training survives them (the tests and
``tools/benchmarks/faults.py``)."""
import os
import signal
from typing import Optional

import torch
from mmengine.dist import get_rank
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet3d.registry import HOOKS

FAULTS = ('kill_during_save', 'nan_feature', 'exploding_latent', 'nan_loss')


def find_bank(runner):
    """The run's ``SurrogateBank``: in the model (neck, wrapper) or held by
    a hook (``NexusFlowHook``); None without NexusFlow."""
    from ..core.surrogate_bank import SurrogateBank
    model = runner.model.module if is_model_wrapper(runner.model) else \
        runner.model
    for module in model.modules():
        if isinstance(module, SurrogateBank):
            return module
    for hook in runner.hooks:
        bank = getattr(hook, 'bank', None)
        bank = getattr(bank, 'module', bank)  # the hook's own DDP
        if isinstance(bank, SurrogateBank):
            return bank
    return None


def _half_write_then_die(backend, obj: bytes, filepath) -> None:
    """Stands in for ``LocalBackend.put``: half the bytes reach the disk,
    then the process is killed as by the OOM killer or a preempted job."""
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class FaultInjectionHook(Hook):
    """Injects one fault into one training iteration.

    Args:
        fault (str): ``'kill_during_save'``: SIGKILL while the checkpoint of
            iteration ``at`` is being written (half of it on disk);
            ``'nan_feature'``: the surrogate of ``task`` reads a NaN
            feature; ``'exploding_latent'``: its latent is scaled by 1e30
            (an exploding flow: the alignment loss overflows to Inf);
            ``'nan_loss'``: the host's first task loss is multiplied by
            NaN.
        at (int): the iteration, 1-based as in the log and in
            ``iter_<at>.pth``.
        rank (int, optional): only this process; all when None.
        task (str, optional): the surrogate's task (default: the first).
    """

    priority = 'VERY_LOW'

    def __init__(self, fault: str, at: int, rank: Optional[int] = None,
                 task: Optional[str] = None) -> None:
        if fault not in FAULTS:
            raise ValueError(f'FaultInjectionHook: fault must be one of '
                             f'{FAULTS}, got {fault!r}')
        self.fault, self.at, self.rank, self.task = fault, at, rank, task
        self._handle = None

    def _armed(self, step: int) -> bool:
        return step == self.at and self.rank in (None, get_rank())

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Arms a feature / latent / loss fault for this iteration."""
        if not self._armed(runner.iter + 1) or \
                self.fault == 'kill_during_save':
            return
        if self.fault == 'nan_loss':
            model = runner.model.module if is_model_wrapper(runner.model) \
                else runner.model
            self._handle = model.register_forward_hook(_nan_task_loss)
            return
        bank = find_bank(runner)
        if bank is None:
            raise ValueError(f'FaultInjectionHook: {self.fault} needs '
                             f'NexusFlow surrogates; the run has none')
        surrogate = bank.surrogates[self.task or bank.tasks[0]]
        if self.fault == 'nan_feature':
            self._handle = surrogate.register_forward_pre_hook(
                lambda module, args: (args[0] * float('nan'), ) + args[1:])
        else:
            self._handle = surrogate.register_forward_hook(
                lambda module, args, out: out * 1e30)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Disarms the fault."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Kills this process halfway through writing the checkpoint."""
        meta = checkpoint.get('meta', {})
        if self.fault == 'kill_during_save' and \
                self._armed(meta.get('iter', runner.iter)):
            LocalBackend.put = _half_write_then_die


def _nan_task_loss(module, args, output):
    """Forward hook: the first task loss (not the alignment) times NaN."""
    if not isinstance(output, dict):
        return output
    for key, value in output.items():
        if 'loss' in key and 'align' not in key and \
                isinstance(value, torch.Tensor):
            output[key] = value * float('nan')
            break
    return output
