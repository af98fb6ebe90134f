"""The drop-in on a real host: the stock CenterPoint pillar config with the
domain-split dataset and NexusFlowHook trains through tools/train.py on the
synthetic nuScenes set, and tools/deploy.py gives back the stock model."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

pytestmark = pytest.mark.slow  # subprocesses / training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HOOK_TINY = 'configs/nexusflow/centerpoint_pillar_domainsplit_hook_tiny.py'
STOCK_TINY = 'configs/nexusflow/centerpoint_pillar_tiny.py'


def run(cmd, root):
    env = dict(os.environ, SYNTHETIC_NUSCENES=root)
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[
        -3000:]
    return result.stdout + result.stderr


def test_centerpoint_trains_with_the_hook_and_deploys(
        synthetic_nuscenes_infos, tmp_path):
    root = synthetic_nuscenes_infos['root'].rstrip('/')
    work = tmp_path / 'work'
    log = run([sys.executable, 'tools/train.py', HOOK_TINY, '--work-dir',
               str(work), '--cfg-options', 'train_cfg.max_iters=2',
               'train_cfg.val_interval=10',
               'default_hooks.checkpoint.interval=2'], root)
    assert "surrogates ['vehicle', 'vru', 'barrier']" in log
    iters = [line for line in log.splitlines() if 'Iter(train)' in line]
    assert len(iters) == 2
    # Stage 1 at iteration 0 (lambda 0), alignment from iteration 1 on.
    assert 'align_weight: 0.0000' in iters[0] and \
        'loss_align: 0.0000' in iters[0]
    assert 'align_weight: 0.0500' in iters[1]
    for task in ('vehicle', 'vru', 'barrier'):
        assert f'dist_{task}:' in iters[1]

    ckpt = torch.load(work / 'iter_2.pth', weights_only=False)
    assert ckpt['nexusflow']['tasks'] == ['vehicle', 'vru', 'barrier']
    assert len(ckpt['optimizer']['param_groups']) == 2
    assert not any('surrogate' in k for k in ckpt['state_dict'])

    out = tmp_path / 'deploy'
    run([sys.executable, 'tools/deploy.py', HOOK_TINY,
         str(work / 'iter_2.pth'), str(out)], root)
    name = osp.splitext(osp.basename(HOOK_TINY))[0]
    plain = Config.fromfile(out / f'{name}.py')
    stock = Config.fromfile(osp.join(REPO, STOCK_TINY))
    assert plain.custom_hooks == []
    assert plain.model == stock.model
    deployed = torch.load(out / f'{name}.pth', weights_only=False)
    assert set(deployed) == {'meta', 'state_dict'}
    assert deployed['state_dict'].keys() == ckpt['state_dict'].keys()
