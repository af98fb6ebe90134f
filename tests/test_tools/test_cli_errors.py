"""The tools fail with one clear line on a bad environment or bad input."""
import os
import os.path as osp
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # subprocesses / training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = 'configs/nexusflow/centerpoint_pillar_tiny.py'


def run_tool(python, *args):
    return subprocess.run([python, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_tool_outside_venv_says_how_to_set_up():
    # Without site-packages (-S) nothing of the stack can be imported.
    result = run_tool(sys.executable, '-S', 'tools/train.py', TINY)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('error: cannot import')
    assert 'make test' in last and '.venv' in last
    assert 'Traceback' not in result.stderr


def test_missing_config():
    result = run_tool(sys.executable, 'tools/train.py', 'configs/nope.py')
    assert result.returncode != 0
    assert 'configs/nope.py does not exist' in result.stderr
    assert 'Traceback' not in result.stderr


def test_missing_data_root_names_path_and_command(tmp_path):
    missing = str(tmp_path / 'no_such_root')
    result = run_tool(
        sys.executable, 'tools/train.py', TINY, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'train_dataloader.dataset.dataset.data_root={missing}')
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    assert f'data_root {missing}' in result.stderr
    assert 'create_synthetic_nuscenes.py' in result.stderr


def test_missing_checkpoint(tmp_path):
    result = run_tool(sys.executable, 'tools/test.py', TINY,
                      str(tmp_path / 'none.pth'))
    assert result.returncode != 0
    assert 'none.pth does not exist' in result.stderr


HOOK = 'configs/nexusflow/centerpoint_pillar_domainsplit_hook_tiny.py'
# The hook's four common mistakes and the class each message names.
BAD_HOOK_SETTINGS = {
    'tap': ('custom_hooks.0.taps.vru=pts_bbox_head.task_heads.9.heatmap.0',
            "NexusFlowHook: CenterPoint has no submodule "
            "'pts_bbox_head.task_heads.9.heatmap.0'"),
    'tasks': ('custom_hooks.0.task_losses.cyclist=[task9]',
              'NexusFlowHook: task names must match'),
    'city': ('train_dataloader.dataset.dataset.rules.vehicle=[boston-seeport]',
             "NuScenesDomainSplitDataset: rule vehicle=['boston-seeport']"),
    'weight': ('custom_hooks.0.align_weight=-1',
               'NexusFlowHook: align_weight (lambda) must be'),
}


def error_lines(result) -> list:
    return [line for line in (result.stdout + result.stderr).splitlines()
            if line.startswith('error:')]


def run_script(args, root, **env):
    environ = dict(os.environ, SYNTHETIC_NUSCENES=root, **env)
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True,
                          timeout=600, env=environ)


@pytest.mark.parametrize('mistake', list(BAD_HOOK_SETTINGS))
def test_bad_hook_settings_give_one_line(mistake, synthetic_nuscenes_infos,
                                         tmp_path):
    option, message = BAD_HOOK_SETTINGS[mistake]
    result = run_script(
        [sys.executable, 'tools/train.py', HOOK, '--work-dir',
         str(tmp_path), '--cfg-options', option, 'train_cfg.max_iters=1'],
        synthetic_nuscenes_infos['root'].rstrip('/'))
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    [line] = error_lines(result)
    assert line.startswith(f'error: {message}'), line


@pytest.mark.parametrize('mistake', list(BAD_HOOK_SETTINGS))
def test_bad_hook_settings_give_one_line_under_two_processes(
        mistake, synthetic_nuscenes_infos, tmp_path):
    option, message = BAD_HOOK_SETTINGS[mistake]
    result = run_script(
        ['bash', 'tools/dist_train.sh', HOOK, '2', '--work-dir',
         str(tmp_path), '--cfg-options', option, 'train_cfg.max_iters=1'],
        synthetic_nuscenes_infos['root'].rstrip('/'),
        PORT=str(29500 + os.getpid() % 1000))
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    [line] = error_lines(result)
    assert line.startswith(f'error: {message}'), line


def test_debug_shows_the_traceback(synthetic_nuscenes_infos, tmp_path):
    option, _ = BAD_HOOK_SETTINGS['weight']
    result = run_script(
        [sys.executable, 'tools/train.py', HOOK, '--debug', '--work-dir',
         str(tmp_path), '--cfg-options', option],
        synthetic_nuscenes_infos['root'].rstrip('/'))
    assert result.returncode != 0 and 'Traceback' in result.stderr


def test_dist_train_stops_on_gpus_without_cuda_torch(tmp_path):
    smi = tmp_path / 'nvidia-smi'
    smi.write_text('#!/bin/sh\necho "GPU 0: Fake GPU (UUID: GPU-0)"\n')
    smi.chmod(0o755)
    path = f'{tmp_path}{os.pathsep}{os.environ["PATH"]}'
    env = {k: v for k, v in os.environ.items()
           if k != 'CUDA_VISIBLE_DEVICES'}
    result = subprocess.run(
        ['bash', 'tools/dist_train.sh', HOOK, '8'], cwd=REPO,
        capture_output=True, text=True, timeout=300, env=dict(env, PATH=path))
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    [line] = error_lines(result)
    assert '1 GPU(s) are visible' in line and 'PYTHON=' in line
    assert 'Iter(train)' not in result.stdout + result.stderr
