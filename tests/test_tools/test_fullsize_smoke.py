"""The full-size NexusFlow config end to end on a CPU: ``tools/train.py``
trains one step on a 5-frame clip (6 cameras of 1600 x 900, 200 x 200 BEV,
900 + 1 queries, full heads and surrogates; random init instead of the
converted BEVFormer file) and ``tools/test.py`` evaluates one scene, each
process within 20 GB peak RSS.

A 5-frame step takes minutes even on a free 2-core machine, so this test is
marked ``fullsize``: ``make test`` leaves it out, ``make fullsize`` (which
``.ci/run`` calls) runs it.
"""
import json
import math
import os
import os.path as osp
import resource
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.fullsize, pytest.mark.slow,
              pytest.mark.timeout(4 * 3600)]

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/nexusflow/uniad_domainsplit.py'
PEAK_RSS_LIMIT = 20 * 2**30
FRAMES = 5  # the config's clip length (queue_length)


@pytest.fixture(scope='module')
def full_resolution_set(tmp_path_factory) -> str:
    """Two v1.0-trainval scenes (one train, one val, both Boston) of five
    key frames with nuScenes' 1600 x 900 cameras, and their infos."""
    from nexusflow.converters import create_trackmap_infos
    from nexusflow.testing import create_synthetic_nuscenes
    from nexusflow.testing.synthetic_nuscenes import FULL_RESOLUTION
    root = str(tmp_path_factory.mktemp('nuscenes_full'))
    create_synthetic_nuscenes(root, version='v1.0-trainval', num_scenes=2,
                              samples_per_scene=FRAMES,
                              image_size=FULL_RESOLUTION, seed=0)
    create_trackmap_infos(root, 'v1.0-trainval', root)
    return root


def options(root: str) -> list:
    """``--cfg-options`` that put the full-size config on the synthetic set
    without a pretrained file."""
    root = root.rstrip('/') + '/'
    data = []
    for loader in ('val_dataloader', 'test_dataloader'):
        data += [f'{loader}.dataset.data_root={root}',
                 f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False']
    for evaluator in ('val_evaluator', 'test_evaluator'):
        data += [f'{evaluator}.0.data_root={root}',
                 f'{evaluator}.0.version=v1.0-trainval',
                 f'{evaluator}.0.eval_set=val']
    return [
        # No converted BEVFormer file here, and no download of the ImageNet
        # backbone: random init (train.py warns about the frozen DCN).
        'load_from=None', 'model.img_backbone.init_cfg=None',
        # The encoder's activation checkpointing: what lets a 5-frame step
        # fit (see README, "Full-size runs").
        'model.bev_encoder.with_cp=True',
        f'train_dataloader.dataset.dataset.data_root={root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
    ] + data


def run(cmd: list) -> tuple:
    """Runs a tool; returns its output, wall seconds and the children's
    peak RSS so far."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *cmd], cwd=REPO,
                            capture_output=True, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED='1'))
    seconds = time.perf_counter() - start
    assert result.returncode == 0, \
        result.stdout[-3000:] + result.stderr[-3000:]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return result.stdout + result.stderr, seconds, peak


def test_train_one_step_then_test_one_scene(full_resolution_set, tmp_path):
    root = full_resolution_set
    work = tmp_path / 'work'
    log, train_s, train_peak = run([
        'tools/train.py', CONFIG, '--work-dir', str(work),
        '--cfg-options', *options(root),
        'train_cfg._delete_=True', 'train_cfg.type=IterBasedTrainLoop',
        'train_cfg.max_iters=1', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=1', 'log_processor.by_epoch=False',
        'default_hooks.logger.interval=1'  # log the one step's losses
    ])
    print(f'full-size train step ({FRAMES}-frame clip): {train_s:.0f} s, '
          f'peak RSS {train_peak / 2**30:.2f} GiB')
    assert (work / 'iter_1.pth').exists(), log[-2000:]
    assert 'loss_align' in log and 'loss_track_cls' in log
    assert train_peak < PEAK_RSS_LIMIT

    log, test_s, peak = run([
        'tools/test.py', CONFIG, str(work / 'iter_1.pth'), '--work-dir',
        str(work), '--cfg-options', *options(root)
    ])
    print(f'full-size test of one scene ({FRAMES} frames): {test_s:.0f} s, '
          f'peak RSS {peak / 2**30:.2f} GiB (train and test)')
    metrics = json.loads((work / 'metrics.json').read_text())
    amota = metrics['tracking/amota']  # NaN when nothing is tracked
    assert math.isnan(amota) or 0.0 <= amota <= 1.0
    for key in ('lanes', 'divider', 'crossing', 'contour', 'drivable'):
        assert 0.0 <= metrics[f'map/iou_{key}'] <= 1.0, key
    assert peak < PEAK_RSS_LIMIT
