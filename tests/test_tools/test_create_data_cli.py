"""The data tools as a user types them: relative paths, from another cwd."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # subprocesses / training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_relative_out_dir(tmp_path):
    tool = osp.join(REPO, 'tools')
    for args in (['create_synthetic_nuscenes.py', '--out', 'data/syn',
                  '--scenes', '4', '--samples-per-scene', '2'],
                 ['create_data.py', 'nuscenes', '--root', 'data/syn',
                  '--version', 'v1.0-mini', '--out', 'data/syn',
                  '--max-sweeps', '1']):
        result = subprocess.run([sys.executable, osp.join(tool, args[0]),
                                 *args[1:]], cwd=tmp_path,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
    root = tmp_path / 'data' / 'syn'
    with open(root / 'nuscenes_dbinfos_train.pkl', 'rb') as f:
        dbinfos = pickle.load(f)
    assert sum(len(v) for v in dbinfos.values()) > 0
    first = next(v[0] for v in dbinfos.values() if v)
    assert (root / first['path']).is_file()
    assert not (root / 'data').exists()  # nothing written at root/root
