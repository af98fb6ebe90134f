"""tools/deploy.py as a command: one error line, no traceback."""
import os.path as osp
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # subprocesses / training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_cli_missing_checkpoint_is_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, 'tools/deploy.py',
         'configs/nexusflow/centerpoint_pillar_domainsplit_hook_tiny.py',
         str(tmp_path / 'none.pth'), str(tmp_path / 'out')],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f'error: checkpoint {tmp_path / "none.pth"} does not exist')
