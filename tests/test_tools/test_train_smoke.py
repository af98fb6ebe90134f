"""The stack end to end: mmdet3d's stock CenterPoint pillar config trains on
the synthetic nuScenes set through tools/train.py, resumes, and tools/test.py
evaluates it with the devkit; it and the UniAD-tiny + NexusFlow config train
as two gloo processes via tools/dist_train.sh."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = 'configs/nexusflow/centerpoint_pillar_tiny.py'
UNIAD_TINY = 'configs/nexusflow/uniad_domainsplit_tiny.py'


def run(cmd, root, timeout=600):
    env = dict(os.environ, SYNTHETIC_NUSCENES=root, PYTHON=sys.executable)
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_train_then_test(synthetic_nuscenes_infos, tmp_path):
    root = synthetic_nuscenes_infos['root'].rstrip('/')
    work = tmp_path / 'work'
    run([sys.executable, 'tools/train.py', TINY, '--work-dir', str(work),
         '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2'], root)
    ckpt = (work / 'last_checkpoint').read_text().strip()
    assert osp.basename(ckpt) == 'iter_2.pth'

    # Resume continues from iteration 2 rather than starting over.
    result = run([sys.executable, 'tools/train.py', TINY, '--work-dir',
                  str(work), '--resume', '--cfg-options',
                  'train_cfg.max_iters=3', 'train_cfg.val_interval=10',
                  'default_hooks.checkpoint.interval=3'], root)
    assert 'resumed epoch: 0, iter: 2' in result.stdout + result.stderr
    assert (work / 'iter_3.pth').exists()

    run([sys.executable, 'tools/test.py', TINY, ckpt, '--work-dir',
         str(work)], root)
    metrics = json.loads((work / 'metrics.json').read_text())
    nds = metrics['NuScenes metric/pred_instances_3d_NuScenes/NDS']
    assert 0.0 <= nds <= 1.0


@pytest.mark.parametrize('config', [TINY, UNIAD_TINY])
def test_dist_train_two_cpu_processes(synthetic_nuscenes_infos, tmp_path,
                                      config):
    root = synthetic_nuscenes_infos['root'].rstrip('/')
    work = tmp_path / 'dist'
    env_port = str(29600 + os.getpid() % 300 + (config == UNIAD_TINY))
    result = run(['env', f'PORT={env_port}', 'bash', 'tools/dist_train.sh',
                  config, '2', '--work-dir', str(work), '--cfg-options',
                  'train_cfg.max_iters=1', 'train_cfg.val_interval=10',
                  'default_hooks.checkpoint.interval=1'], root)
    log = result.stdout + result.stderr
    assert "'backend': 'gloo'" in log or 'backend: gloo' in log, log[-2000:]
    assert 'Distributed training: True' in log
    assert (work / 'iter_1.pth').exists()
