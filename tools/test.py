"""Evaluates a checkpoint with the config's test evaluator.

Prints every metric as one table and writes it to ``WORK_DIR/metrics.json``.

Example:
    python tools/test.py configs/nexusflow/uniad_domainsplit_tiny.py \
        work_dirs/uniad_domainsplit_tiny/epoch_2.pth
"""
import argparse
import json
import os
import os.path as osp

from _bootstrap import import_nexusflow

import_nexusflow()
from mmengine.config import DictAction  # noqa: E402

from nexusflow.utils.launch import (build_runner, load_config,  # noqa: E402
                                    setup_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a '
                                     'model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where metrics and logs go')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def format_table(metrics: dict) -> str:
    """Renders ``{name: value}`` as a two-column text table."""
    width = max([len(k) for k in metrics] + [6])
    lines = [f'{"metric":<{width}}  value', '-' * (width + 12)]
    for key, value in metrics.items():
        text = f'{value:.4f}' if isinstance(value, float) else str(value)
        lines.append(f'{key:<{width}}  {text}')
    return '\n'.join(lines)


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint} does not '
                         'exist')
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint

    setup_distributed(cfg)
    runner = build_runner(cfg)
    metrics = runner.test()
    if runner.rank == 0:
        print(format_table(metrics))
        out = osp.join(cfg.work_dir, 'metrics.json')
        with open(out, 'w') as f:
            json.dump(metrics, f, indent=2, default=float)
        print(f'metrics written to {out}')


if __name__ == '__main__':
    main()
