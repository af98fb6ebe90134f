"""Runners of the tiny two-task detector (``helpers.hook``) with the
crash-safe engine pieces, and a gloo worker for the fault tests (a module
of its own so that spawned processes can import it)."""
import datetime
import os
import os.path as osp
from typing import Sequence

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from helpers.hook import MASKS, flat_params, make_runner


class ParamRecorder(Hook):
    """Keeps the host's and the bank's parameters after every iteration."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.host, self.bank = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        from nexusflow.engine.fault_injection import find_bank
        model = getattr(runner.model, 'module', runner.model)
        self.host.append(flat_params(model))
        bank = find_bank(runner)
        if bank is not None:
            self.bank.append(flat_params(bank))


def make_safe_runner(work_dir: str,
                     hooks: Sequence,
                     max_iters: int = 2,
                     masks: Sequence[tuple] = MASKS,
                     optim_type: str = 'FiniteOptimWrapper',
                     checkpoint_type: str = 'AtomicCheckpointHook',
                     distributed: bool = False) -> Runner:
    """A CPU runner of :class:`HookTinyDetector`, checkpoints every
    iteration, with the given optimizer wrapper and checkpoint hook."""
    return make_runner(work_dir, hooks, max_iters=max_iters, masks=masks,
                       distributed=distributed, optim_type=optim_type,
                       checkpoint_type=checkpoint_type, checkpoint_interval=1)


def dist_fault_worker(rank: int, world_size: int, port: int, work_dir: str,
                      out_dir: str) -> None:
    """One rank of a gloo run in which rank 0's surrogate reads a NaN
    feature at iteration 1 and rank 1's task loss is NaN at iteration 2;
    saves what each rank saw."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world_size), MASTER_ADDR='127.0.0.1',
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        'gloo', rank=rank, world_size=world_size,
        timeout=datetime.timedelta(seconds=60))
    from helpers.hook import hook_cfg
    recorder = ParamRecorder()
    hooks = [hook_cfg(),
             dict(type='FaultInjectionHook', fault='nan_feature', at=1,
                  rank=0),
             dict(type='FaultInjectionHook', fault='nan_loss', at=2, rank=1),
             recorder]
    runner = make_safe_runner(work_dir, hooks, max_iters=3,
                              distributed=True)
    runner.train()
    from nexusflow.engine.fault_injection import find_bank
    torch.save(dict(host=recorder.host, bank=recorder.bank,
                    nonfinite=find_bank(runner).nonfinite_steps,
                    skipped=runner.optim_wrapper.skipped_steps),
               osp.join(out_dir, f'rank{rank}.pth'))
    torch.distributed.destroy_process_group()
