"""Validation under two gloo processes equals tools/test.py with one process
on the checkpoint of the same iteration (SyncTrainBuffersHook)."""
import glob
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # two training runs and two test runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HOOK = 'configs/nexusflow/centerpoint_pillar_domainsplit_hook_tiny.py'


def run(args, root):
    env = dict(os.environ, SYNTHETIC_NUSCENES=root,
               PORT=str(29600 + os.getpid() % 1000))
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]


def val_and_test(root, work, sync: str) -> list:
    """Metrics of the 2-process validation at iteration 2 and of a 1-process
    test of iter_2.pth that differ (NaN = NaN; 1e-5 relative: the summation
    order differs between the runs)."""
    run(['bash', 'tools/dist_train.sh', HOOK, '2', '--work-dir', str(work),
         '--cfg-options', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
         'default_hooks.checkpoint.interval=2',
         f'default_hooks.sync_buffers.type={sync}'], root)
    run([sys.executable, 'tools/test.py', HOOK, str(work / 'iter_2.pth'),
         '--work-dir', str(work / 'test')], root)
    [scalars] = glob.glob(str(work / '*' / 'vis_data' / 'scalars.json'))
    val = json.loads(open(scalars).read().splitlines()[-1])
    test = json.load(open(work / 'test' / 'metrics.json'))
    shared = [k for k in test if k in val]
    assert len(shared) > 50
    return [k for k in shared if not math.isclose(
        val[k], test[k], rel_tol=1e-5, abs_tol=1e-9) and not (
            math.isnan(val[k]) and math.isnan(test[k]))]


def test_two_process_validation_equals_one_process_test(
        synthetic_nuscenes_infos, tmp_path):
    root = synthetic_nuscenes_infos['root'].rstrip('/')
    # Without the sync each process keeps its own BatchNorm statistics.
    unsynced = val_and_test(root, tmp_path / 'unsynced',
                            'DistSamplerSeedHook')
    assert unsynced, 'the unsynced control should disagree'
    assert val_and_test(root, tmp_path / 'synced',
                        'SyncTrainBuffersHook') == []
