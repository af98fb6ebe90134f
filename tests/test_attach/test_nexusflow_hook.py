"""NexusFlowHook: the drop-in on an unchanged model (optimizer, schedulers,
DDP, checkpoints, resume) and the lambda schedule for all attachments."""
import os.path as osp
import socket

import pytest
import torch
import torch.multiprocessing as mp
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapper
from mmengine.optim.scheduler import CosineAnnealingMomentum, LinearLR

from mmdet3d.registry import HOOKS, MODELS
from nexusflow.attach import AlignWeightHook, NexusFlowHook, add_param_group
from nexusflow.utils.checkpoint import trusted_checkpoints
from helpers.hook import (SURROGATE, HookTinyDetector, Recorder, dist_worker,
                          flat_params, hook_cfg, make_runner)


def nexus_hook(runner) -> NexusFlowHook:
    return next(h for h in runner.hooks if isinstance(h, NexusFlowHook))


def test_surrogates_join_optimizer_and_schedulers(tmp_path):
    recorder = Recorder()
    scheduler = [dict(type='LinearLR', start_factor=0.25, by_epoch=False,
                      begin=0, end=3)]
    runner = make_runner(str(tmp_path), [
        hook_cfg(param_group=dict(lr=0.3)), recorder
    ], max_iters=4, param_scheduler=scheduler)
    runner.train()
    bank = nexus_hook(runner).bank
    groups = runner.optim_wrapper.param_groups
    assert len(groups) == 2
    assert [id(p) for p in groups[1]['params']] == [
        id(p) for p in bank.parameters()]
    assert groups[1]['initial_lr'] == 0.3
    # The warm-up scales both groups alike, from their own base lrs.
    for log in recorder.logs:
        host_lr, bank_lr = log['lrs']
        assert bank_lr == pytest.approx(host_lr / 0.1 * 0.3)
    assert recorder.logs[0]['lrs'][1] < recorder.logs[-1]['lrs'][1]
    assert recorder.logs[-1]['lrs'][1] == pytest.approx(0.3)
    # The surrogates trained, and the host model keeps its own loss.
    torch.manual_seed(0)
    fresh = HookTinyDetector()
    assert 'loss' not in vars(runner.model)
    assert not torch.equal(flat_params(runner.model), flat_params(fresh))
    saved = torch.load(osp.join(str(tmp_path), 'iter_4.pth'),
                       weights_only=False)
    assert set(saved['state_dict']) == set(fresh.state_dict())
    assert saved['nexusflow']['tasks'] == ['a', 'b']
    assert torch.equal(
        saved['nexusflow']['state_dict']['surrogates.a.aggregator.mlp.0.'
                                         'weight'],
        bank.state_dict()['surrogates.a.aggregator.mlp.0.weight'])
    assert not torch.equal(
        torch.cat([v.flatten() for v in saved['nexusflow']
                   ['state_dict'].values()]), _fresh_bank_params())


def _fresh_bank_params():
    torch.manual_seed(0)
    hook = HOOKS.build(hook_cfg())
    from nexusflow.core import SurrogateBank
    bank = SurrogateBank(hook.surrogates_cfg, hook.alignment_cfg)
    bank.init_weights()
    return torch.cat([v.flatten() for v in bank.state_dict().values()])


def test_momentum_scheduler_drives_adam_betas_of_new_group():
    model = torch.nn.Linear(2, 2)
    extra = torch.nn.Linear(2, 2)
    optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=0.1))
    schedulers = [LinearLR(optim, start_factor=0.5, end=4, by_epoch=False),
                  CosineAnnealingMomentum(optim, T_max=4, eta_min=0.8,
                                          by_epoch=False)]
    group = add_param_group(optim, extra.parameters(), schedulers,
                            dict(lr=0.2))
    for _ in range(3):
        for scheduler in schedulers:
            scheduler.step()
        host, new = optim.param_groups
        assert new['lr'] == pytest.approx(host['lr'] * 2)
        assert new['betas'][0] == pytest.approx(host['betas'][0])
    assert group['betas'][0] < 0.9
    with pytest.raises(ValueError, match=r"\['lr_mult'\].*AdamW"):
        add_param_group(optim, torch.nn.Linear(1, 1).parameters(),
                        schedulers, dict(lr_mult=2))


@pytest.mark.slow
def test_two_stage_switch_and_warmup_scale_logged_alignment(tmp_path):
    # lr = 0 keeps the weights fixed, so both runs see the same latents and
    # loss_align differs by lambda only.
    plain, staged = Recorder(), Recorder()
    make_runner(str(tmp_path / 'plain'), [hook_cfg(align_weight=2.0), plain],
                max_iters=5, lr=0.0).train()
    make_runner(str(tmp_path / 'staged'), [
        hook_cfg(align_weight=2.0, begin_iter=2, warmup_iters=2), staged
    ], max_iters=5, lr=0.0).train()
    weights = [log['align_weight'] for log in staged.logs]
    assert weights == [0.0, 0.0, 1.0, 2.0, 2.0]
    assert [log['align_weight'] for log in plain.logs] == [2.0] * 5
    for ref, log, weight in zip(plain.logs, staged.logs, weights):
        assert ref['loss_align'] > 0
        assert log['loss_align'] == pytest.approx(ref['loss_align'] *
                                                  weight / 2.0)
        assert log['loss'] == pytest.approx(
            log['a.loss_reg'] + log['b.loss_reg'] + log['loss_align'])
        for task in ('a', 'b'):
            assert log[f'dist_{task}'] == pytest.approx(ref[f'dist_{task}'])
            assert log[f'dist_{task}'] > 0


def test_begin_epoch_counts_dataloader_iterations():
    hook = AlignWeightHook(align_weight=1.0, begin_epoch=2, warmup_iters=4)
    assert hook.align_weight_at(5, iters_per_epoch=3) == 0.0
    assert hook.align_weight_at(6, iters_per_epoch=3) == 0.25
    assert hook.align_weight_at(20, iters_per_epoch=3) == 1.0
    with pytest.raises(ValueError, match='iterations per epoch'):
        hook.align_weight_at(6)


def test_align_weight_hook_drives_the_wrapper(tmp_path):
    wrapper = MODELS.build(dict(
        type='NexusFlowWrapper', detector=dict(type='HookTinyDetector'),
        taps=dict(a='head_a.0', b='head_b.0'),
        surrogates=dict(a=SURROGATE, b=SURROGATE),
        task_losses=dict(a=['a.'], b=['b.'])))
    recorder = Recorder()
    runner = make_runner(str(tmp_path), [
        dict(type='AlignWeightHook', align_weight=0.5, begin_iter=1), recorder
    ], max_iters=2, model=wrapper)
    runner.train()
    assert [log['align_weight'] for log in recorder.logs] == [0.0, 0.5]
    assert recorder.logs[0]['loss_align'] == 0.0
    assert recorder.logs[1]['loss_align'] > 0
    assert wrapper.align_weight == 0.5
    assert len(runner.optim_wrapper.param_groups) == 1

    plain = make_runner(str(tmp_path / 'plain'),
                        [dict(type='AlignWeightHook')])
    with pytest.raises(ValueError, match='has no SurrogateBank'):
        plain.train()
    doubled = make_runner(str(tmp_path / 'doubled'), [hook_cfg()],
                          model=wrapper)
    with pytest.raises(ValueError, match='already has a SurrogateBank; use '
                       'AlignWeightHook'):
        doubled.train()


def test_resume_mid_run_gives_the_same_losses(tmp_path):
    schedule = dict(align_weight=1.0, begin_iter=1, warmup_iters=3)
    scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False,
                      begin=0, end=4)]
    full = Recorder()
    make_runner(str(tmp_path / 'full'), [hook_cfg(**schedule), full],
                max_iters=4, param_scheduler=scheduler).train()
    resumed = Recorder()
    runner = make_runner(str(tmp_path / 'resumed'),
                         [hook_cfg(**schedule), resumed], max_iters=4,
                         param_scheduler=scheduler,
                         resume_from=str(tmp_path / 'full' / 'iter_2.pth'))
    with trusted_checkpoints():
        runner.train()
    assert [log['iter'] for log in resumed.logs] == [2, 3]
    assert len(full.logs) == 4
    for ref, log in zip(full.logs[2:], resumed.logs):
        assert log == ref  # exact: weights, momenta, lrs and lambda restored


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_keep_surrogates_in_sync(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    mp.spawn(dist_worker, args=(2, _free_port(), str(tmp_path / 'work'),
                                str(out)), nprocs=2, join=True)
    rank0, rank1 = (torch.load(out / f'rank{r}.pth', weights_only=False)
                    for r in (0, 1))
    assert torch.equal(rank0['bank'], rank1['bank'])
    assert torch.equal(rank0['host'], rank1['host'])
    # Rank 0's batches lack task b, rank 1's mix two masks: no hang, and
    # the ranks trained on different losses.
    assert all(log['b.loss_reg'] == 0.0 for log in rank0['logs'])
    assert all(log['b.loss_reg'] > 0 for log in rank1['logs'])
    assert len(rank0['logs']) == 3
    assert not torch.equal(rank0['bank'], _fresh_bank_params())


@pytest.mark.parametrize('kwargs, message', [
    (dict(align_weight=-0.1), '>= 0'),
    (dict(taps=dict(a='head_a.0', c='head_b.0')),
     r"taps=\['a', 'c'\], surrogates=\['a', 'b'\]"),
    (dict(task_losses=dict(a=['a.'])), r"task_losses \+ task_classes=\['a'\]"),
    (dict(warmup_iters=-1), 'warmup_iters must be an int >= 0'),
    (dict(begin_iter=1, begin_epoch=1), 'not both'),
])
def test_bad_hook_config(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HOOKS.build(hook_cfg(**kwargs))


@pytest.mark.parametrize('kwargs', [dict(), dict(surrogates=dict(a=SURROGATE)),
                                    dict(taps=dict(a='head_a.0'))])
def test_hook_without_taps_or_surrogates_points_to_align_weight_hook(kwargs):
    with pytest.raises(ValueError, match="needs taps and surrogates; .*"
                       "type='AlignWeightHook'"):
        NexusFlowHook(**kwargs)


def test_bad_weight_names_the_hook():
    with pytest.raises(ValueError, match=r'^NexusFlowHook: align_weight'):
        NexusFlowHook(taps=dict(a='head_a.0'), surrogates=dict(a=SURROGATE),
                      align_weight=-1)
    with pytest.raises(ValueError, match=r'^AlignWeightHook: align_weight'):
        AlignWeightHook(align_weight=float('nan'))


def test_unknown_tap_path_names_it_and_close_names(tmp_path):
    runner = make_runner(str(tmp_path), [
        hook_cfg(taps=dict(a='head_a.0', b='head_bb.0'))])
    with pytest.raises(ValueError, match=r"no submodule 'head_bb.0'; close "
                       r"module names: \[.*'head_b.0'"):
        runner.train()


def test_surrogate_lr_follows_the_stock_cyclic_schedule(tmp_path):
    # mmdet3d's cyclic-20e shape at iteration scale: cosine up to lr * 10
    # (absolute eta_min), then down to lr * 1e-4; momentum the other way.
    lr = 0.1
    scheduler = [
        dict(type='CosineAnnealingLR', T_max=4, eta_min=lr * 10, begin=0,
             end=4, by_epoch=False),
        dict(type='CosineAnnealingLR', T_max=4, eta_min=lr * 1e-4, begin=4,
             end=8, by_epoch=False),
        dict(type='CosineAnnealingMomentum', T_max=4, eta_min=0.85 / 0.95,
             begin=0, end=4, by_epoch=False),
    ]
    used = []  # the values each optimizer step runs with

    class StepValues(Hook):
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            used.append([(g['lr'], g['momentum'])
                         for g in runner.optim_wrapper.param_groups])

    runner = make_runner(str(tmp_path), [
        hook_cfg(param_group=dict(lr=0.02)), StepValues()
    ], max_iters=8, lr=lr, param_scheduler=scheduler)
    runner.train()
    host = [step[0] for step in used]
    bank = [step[1] for step in used]
    assert max(lr_ for lr_, _ in host) > 5 * lr  # the host rises to lr * 10
    assert min(m for _, m in host) < 0.9  # and its momentum drops
    for (host_lr, host_m), (bank_lr, bank_m) in zip(host, bank):
        assert bank_lr == pytest.approx(0.02 * host_lr / lr)
        assert bank_m == pytest.approx(host_m)
