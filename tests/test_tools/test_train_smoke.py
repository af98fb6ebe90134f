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

pytestmark = pytest.mark.slow  # subprocesses / training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = 'configs/nexusflow/centerpoint_pillar_tiny.py'
UNIAD_TINY = 'configs/nexusflow/uniad_domainsplit_tiny.py'


def run(cmd, root, timeout=600):
    # One thread per process: the two-process runs would otherwise ask for
    # more threads than a small CI machine has cores.
    env = dict(os.environ, SYNTHETIC_NUSCENES=root, PYTHON=sys.executable,
               OMP_NUM_THREADS='1')
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]
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


def test_dist_test_gives_each_process_whole_scenes(synthetic_nuscenes_infos,
                                                   tmp_path):
    root = synthetic_nuscenes_infos['root'].rstrip('/')
    work = tmp_path / 'work'
    run([sys.executable, 'tools/train.py', UNIAD_TINY, '--work-dir',
         str(work), '--cfg-options', 'train_cfg.max_iters=1',
         'train_cfg.val_interval=10', 'default_hooks.checkpoint.interval=1'],
        root)
    ckpt = str(work / 'iter_1.pth')
    # Every query starts a track, so the ids in the result json depend on
    # each process seeing whole scenes in order.
    options = ['model.track_head.score_thresh=0.0',
               'model.track_head.filter_score_thresh=0.0']

    def keep_json(name):
        return ['--work-dir', str(tmp_path / name), '--cfg-options'] + \
            options + [f'test_evaluator.0.jsonfile_prefix={tmp_path / name}']

    run([sys.executable, 'tools/test.py', UNIAD_TINY, ckpt] +
        keep_json('one'), root)
    port = str(29900 + os.getpid() % 90)
    result = run(['env', f'PORT={port}', 'bash', 'tools/dist_test.sh',
                  UNIAD_TINY, ckpt, '2'] + keep_json('two'), root)
    assert 'restarts' not in result.stdout + result.stderr

    def tracks(name):
        path = tmp_path / name / 'results_nusc_tracking.json'
        results = json.loads(path.read_text())['results']
        return {token: {box['tracking_id']: box['translation']
                        for box in boxes}
                for token, boxes in results.items()}

    one, two = tracks('one'), tracks('two')
    assert len(one) == 8 and set(one) == set(two)
    assert sum(len(v) for v in one.values()) > 8
    for token, boxes in one.items():
        assert set(boxes) == set(two[token]), token  # the same track ids
        for track_id, xyz in boxes.items():
            assert two[token][track_id] == pytest.approx(xyz, abs=1e-3)
    metrics = [json.loads((tmp_path / n / 'metrics.json').read_text())
               for n in ('one', 'two')]
    for key in metrics[0]:
        assert metrics[1][key] == pytest.approx(metrics[0][key], rel=1e-4,
                                                abs=1e-6), key
