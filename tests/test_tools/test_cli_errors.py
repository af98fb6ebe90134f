"""The tools fail with one clear line on a bad environment or bad input."""
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
