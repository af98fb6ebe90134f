"""The README's literal command at its real width: 8 gloo processes train
the tiny UniAD config, and testing its checkpoint with 8 processes gives
one process's metrics (scene-contiguous sampling: one scene per process)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # 17 processes on a small machine

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/nexusflow/uniad_domainsplit_tiny.py'


@pytest.fixture(scope='module')
def ten_scene_root(tmp_path_factory) -> str:
    """v1.0-mini with all 10 scenes of 2 key frames: 8 in mini_train."""
    from nexusflow.converters import create_trackmap_infos
    from nexusflow.testing import create_synthetic_nuscenes
    root = create_synthetic_nuscenes(
        str(tmp_path_factory.mktemp('ten_scenes')), version='v1.0-mini',
        num_scenes=10, samples_per_scene=2, sweeps_per_sample=1,
        image_size=(64, 36), seed=3)
    create_trackmap_infos(root, 'v1.0-mini', root)
    return root.rstrip('/')


def run(cmd, root, **env):
    result = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
        env=dict(os.environ, SYNTHETIC_NUSCENES=root, PYTHON=sys.executable,
                 OMP_NUM_THREADS='1', **env))
    assert result.returncode == 0, result.stdout[-2000:] + \
        result.stderr[-3000:]
    return result.stdout + result.stderr


def test_dist_train_and_test_with_eight_processes(ten_scene_root, tmp_path):
    port = 29300 + os.getpid() % 150
    work = tmp_path / 'train'
    log = run(['bash', 'tools/dist_train.sh', CONFIG, '8', '--work-dir',
               str(work), '--cfg-options', 'train_cfg.max_iters=2',
               'train_cfg.val_interval=100'], ten_scene_root, PORT=str(port))
    assert 'Distributed training: True' in log and 'GPU number: 8' in log
    assert 'Iter(train) [2/2]' in log
    ckpt = str(work / 'iter_2.pth')
    assert osp.isfile(ckpt)

    # Test on mini_train's 8 scenes so that every process gets one; every
    # query starts a track, so the metrics depend on whole, ordered scenes.
    def test_args(name):
        return ['--work-dir', str(tmp_path / name), '--cfg-options',
                'test_dataloader.dataset.ann_file='
                'nuscenes_trackmap_infos_train.pkl',
                'test_evaluator.0.eval_set=mini_train',
                'model.track_head.score_thresh=0.0',
                'model.track_head.filter_score_thresh=0.0']

    run([sys.executable, 'tools/test.py', CONFIG, ckpt] + test_args('one'),
        ten_scene_root)
    run(['bash', 'tools/dist_test.sh', CONFIG, ckpt, '8'] +
        test_args('eight'), ten_scene_root, PORT=str(port + 1))
    one, eight = (json.loads((tmp_path / n / 'metrics.json').read_text())
                  for n in ('one', 'eight'))
    assert one.keys() == eight.keys()
    assert any('amota' in key for key in one)
    for key, value in one.items():
        assert eight[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
