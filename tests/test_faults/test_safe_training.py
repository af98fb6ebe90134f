"""Crash-safe checkpoints and NaN/Inf-safe steps on the tiny two-task
detector (in-process, seconds), and under two gloo processes."""
import socket

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.fileio import LocalBackend

from nexusflow.engine import use_safe_training
from nexusflow.engine.fault_injection import find_bank
from nexusflow.utils.checkpoint import find_resumable
from helpers.faults import ParamRecorder, dist_fault_worker, make_safe_runner
from helpers.hook import hook_cfg


class Died(BaseException):
    """Stands in for SIGKILL inside this process."""


def half_write_then_die(backend, obj, filepath):
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
    raise Died


@pytest.mark.parametrize('hook', ['AtomicCheckpointHook', 'CheckpointHook'])
def test_death_while_saving_leaves_the_previous_checkpoint(
        hook, tmp_path, monkeypatch):
    work = tmp_path / 'work'

    class DieAtSecondSave(ParamRecorder):
        def before_save_checkpoint(self, runner, checkpoint):
            if checkpoint['meta']['iter'] == 2:
                monkeypatch.setattr(LocalBackend, 'put', half_write_then_die)

    runner = make_safe_runner(str(work), [hook_cfg(), DieAtSecondSave()],
                              max_iters=2, checkpoint_type=hook)
    with pytest.raises(Died):
        runner.train()
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_1.pth')
    if hook == 'CheckpointHook':  # the stock hook: a truncated final name
        assert (work / 'iter_2.pth').exists()
    else:
        assert not (work / 'iter_2.pth').exists()
        assert (work / 'iter_2.pth.part').stat().st_size > 0
    # Either way --resume picks the whole iter_1.
    assert find_resumable(str(work)) == str(work / 'iter_1.pth')


def test_find_resumable_skips_broken_files(tmp_path):
    work = tmp_path / 'work'
    make_safe_runner(str(work), [hook_cfg()], max_iters=3).train()
    assert find_resumable(str(work)) == str(work / 'iter_3.pth')
    # A pointer cut to nothing, the newest file truncated, one not a
    # training checkpoint: the newest whole training checkpoint wins.
    (work / 'last_checkpoint').write_text('')
    data = (work / 'iter_3.pth').read_bytes()
    (work / 'iter_3.pth').write_bytes(data[:len(data) // 3])
    torch.save({'w': torch.zeros(1)}, work / 'iter_2.pth')
    assert find_resumable(str(work)) == str(work / 'iter_1.pth')
    assert find_resumable(str(tmp_path / 'empty')) is None


def test_atomic_saves_rename_into_place(tmp_path):
    work = tmp_path / 'work'
    make_safe_runner(str(work), [hook_cfg()], max_iters=2).train()
    names = sorted(p.name for p in work.iterdir()
                   if p.is_file() and not p.name.endswith('.py'))
    assert names == ['iter_1.pth', 'iter_2.pth', 'last_checkpoint']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')


@pytest.mark.parametrize('fault', ['nan_feature', 'exploding_latent'])
def test_nonfinite_alignment_leaves_the_task_update(fault, tmp_path):
    # A step whose alignment is dropped updates the host exactly as a step
    # without alignment (lambda 0) does.
    runs = {}
    for name, hooks in [
            ('fault', [hook_cfg(), dict(type='FaultInjectionHook',
                                        fault=fault, at=1)]),
            ('no_align', [hook_cfg(align_weight=0.0)])]:
        recorder = ParamRecorder()
        runner = make_safe_runner(str(tmp_path / name), hooks + [recorder],
                                  max_iters=1)
        runner.train()
        runs[name] = (recorder, runner)
    recorder, runner = runs['fault']
    assert find_bank(runner).nonfinite_steps == 1
    assert runner.optim_wrapper.skipped_steps == 0
    assert torch.equal(recorder.host[0], runs['no_align'][0].host[0])
    assert torch.isfinite(recorder.host[0]).all()
    assert torch.isfinite(recorder.bank[0]).all()


@pytest.mark.parametrize('optim', ['FiniteOptimWrapper', 'OptimWrapper'])
def test_nonfinite_task_loss_skips_the_step(optim, tmp_path):
    recorder = ParamRecorder()
    hooks = [hook_cfg(), dict(type='FaultInjectionHook', fault='nan_loss',
                              at=2), recorder]
    runner = make_safe_runner(str(tmp_path), hooks, max_iters=3,
                              optim_type=optim)
    runner.train()
    host = recorder.host
    if optim == 'OptimWrapper':  # the stock wrapper writes NaN weights
        assert not torch.isfinite(host[1]).all()
        return
    assert runner.optim_wrapper.skipped_steps == 1
    assert torch.equal(host[1], host[0])  # iteration 2 changed nothing
    assert not torch.equal(host[2], host[1])  # iteration 3 trained again
    assert all(torch.isfinite(p).all() for p in host + recorder.bank)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_processes_survive_nonfinite_steps(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    mp.spawn(dist_fault_worker, args=(2, _free_port(), str(tmp_path / 'w'),
                                      str(out)), nprocs=2, join=True)
    ranks = [torch.load(out / f'rank{r}.pth', weights_only=False)
             for r in (0, 1)]
    # Rank 0 dropped its alignment once; both skipped the NaN-loss step.
    assert [r['nonfinite'] for r in ranks] == [1, 0]
    assert [r['skipped'] for r in ranks] == [1, 1]
    for step in range(3):
        assert torch.equal(ranks[0]['host'][step], ranks[1]['host'][step])
        assert torch.equal(ranks[0]['bank'][step], ranks[1]['bank'][step])
    host = ranks[0]['host']
    assert torch.equal(host[1], host[0]) and not torch.equal(host[2], host[1])
    assert all(torch.isfinite(p).all()
               for r in ranks for p in r['host'] + r['bank'])


def test_use_safe_training_swaps_stock_types_only():
    cfg = Config(dict(
        default_hooks=dict(checkpoint=dict(type='CheckpointHook')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))))
    use_safe_training(cfg)
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    assert cfg.optim_wrapper.type == 'FiniteOptimWrapper'
    amp = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper',
                                         optimizer=dict(type='SGD'))))
    use_safe_training(amp)  # AMP's loss scaler already skips Inf steps
    assert amp.optim_wrapper.type == 'AmpOptimWrapper'
