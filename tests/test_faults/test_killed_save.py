"""A run killed (SIGKILL) while writing a checkpoint resumes from a whole
one and ends where an uninterrupted run ends (2 gloo processes)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from nexusflow.utils.checkpoint import trusted_checkpoints

pytestmark = pytest.mark.slow  # three 2-process training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HOOK = osp.join(REPO, 'configs', 'nexusflow',
                'centerpoint_pillar_domainsplit_hook_tiny.py')
OPTIONS = ['train_cfg.max_iters=2', 'train_cfg.val_interval=10',
           'default_hooks.checkpoint.interval=1', 'randomness.seed=0']


def dist_train(config, work, root, port, *extra):
    env = dict(os.environ, SYNTHETIC_NUSCENES=root, PYTHON=sys.executable,
               OMP_NUM_THREADS='1', PORT=str(port))
    return subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(work),
         *extra, '--cfg-options', *OPTIONS], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=900)


def final_state(path):
    with trusted_checkpoints():
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    losses = ckpt['message_hub']['log_scalars']['train/loss']
    return ckpt, list(losses.data[0])


def test_kill_during_save_then_resume(synthetic_nuscenes_infos, tmp_path):
    root = synthetic_nuscenes_infos['root'].rstrip('/')
    port = 29700 + os.getpid() % 200
    killer = tmp_path / 'killed_at_save.py'
    killer.write_text(
        f'_base_ = [{HOOK!r}]\n'
        'custom_hooks = _base_.custom_hooks + [dict(\n'
        "    type='FaultInjectionHook', fault='kill_during_save', at=2)]\n")

    full = dist_train(HOOK, tmp_path / 'full', root, port)
    assert full.returncode == 0, full.stderr[-3000:]

    work = tmp_path / 'killed'
    killed = dist_train(str(killer), work, root, port + 1)
    assert killed.returncode != 0  # rank 0 died by SIGKILL mid-write
    assert 'Iter(train) [2/2]' in killed.stdout + killed.stderr
    # Half of iter_2 reached the disk, under the temporary name only.
    assert (work / 'iter_2.pth.part').stat().st_size > 0
    assert not (work / 'iter_2.pth').exists()
    assert (work / 'last_checkpoint').read_text().endswith('iter_1.pth')

    resumed = dist_train(HOOK, work, root, port + 2, '--resume')
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 1' in log

    ref, ref_losses = final_state(tmp_path / 'full' / 'iter_2.pth')
    got, losses = final_state(work / 'iter_2.pth')
    assert len(ref_losses) == 2 and losses == ref_losses  # bit-identical
    assert ref['state_dict'].keys() == got['state_dict'].keys()
    for key, value in ref['state_dict'].items():
        assert torch.equal(got['state_dict'][key], value), key
    # The surrogates (NexusFlowHook's part of the file) continued too.
    for key, value in ref['nexusflow']['state_dict'].items():
        assert torch.equal(got['nexusflow']['state_dict'][key], value), key
