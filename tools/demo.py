"""The project's main job on its embedded default: synthetic data it makes
itself, a short training and an evaluation, each through the real tools.

Run by ``make demo``; every step is a plain command you can run yourself,
and each one is printed before it runs.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The tiny configs read their data from here (their `data_root`).
DATA_ROOT = 'data/synthetic_nuscenes/'
# nuScenes detection summary metrics, printed at the end.
HEADLINE = ('mAP', 'NDS', 'mATE', 'mASE', 'mAOE', 'mAVE', 'mAAE')


def run(step: str, args: list) -> None:
    """Runs one tool with this interpreter, failing loudly with its name."""
    cmd = [sys.executable] + args
    print(f'\n==> {step}\n    $ {" ".join(cmd)}', flush=True)
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f'demo: step "{step}" failed (exit '
                         f'{result.returncode}); the command is above')
    print(f'    done in {time.time() - start:.0f} s', flush=True)


def latest_checkpoint(work_dir: str) -> str:
    """Reads the checkpoint path mmengine records after training."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    args = parser.parse_args()

    data_root = DATA_ROOT
    if not osp.isfile(osp.join(ROOT, data_root, 'nuscenes_infos_val.pkl')):
        run('generate a synthetic nuScenes set (devkit format)',
            ['tools/create_synthetic_nuscenes.py', '--out', data_root])
        run('convert it with mmdet3d\'s converters',
            ['tools/create_data.py', 'nuscenes', '--root', data_root,
             '--version', 'v1.0-mini', '--out', data_root])
    else:
        print(f'==> using the synthetic set already in {data_root}')

    config = 'configs/nexusflow/centerpoint_pillar_tiny.py'
    work_dir = osp.join(args.work_dir, 'centerpoint_pillar_tiny')
    run('train the stock CenterPoint pillar config (tiny schedule)',
        ['tools/train.py', config, '--work-dir', work_dir])
    ckpt = latest_checkpoint(osp.join(ROOT, work_dir))
    run('evaluate it with tools/test.py',
        ['tools/test.py', config, ckpt, '--work-dir', work_dir])

    metrics_file = osp.join(ROOT, work_dir, 'metrics.json')
    with open(metrics_file) as f:
        metrics = json.load(f)
    print('\n==> demo finished')
    print(f'    logs and checkpoint: {osp.join(ROOT, work_dir)}')
    print(f'    metrics:             {metrics_file}')
    headline = [k for k in metrics if k.rsplit('/', 1)[-1] in HEADLINE]
    for key in headline or sorted(metrics)[:8]:
        print(f'    {key.rsplit("/", 1)[-1]:<6} {metrics[key]:.4f}')


if __name__ == '__main__':
    os.chdir(ROOT)
    main()
