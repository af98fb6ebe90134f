"""Evaluates a checkpoint with the config's test evaluator.

Prints every metric as one table and writes it to ``WORK_DIR/metrics.json``.

Example:
    python tools/test.py configs/nexusflow/uniad_domainsplit_tiny.py \
        work_dirs/uniad_domainsplit_tiny/epoch_2.pth
"""
import argparse
import json
import os.path as osp
import sys

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.utils.checkpoint import (check_checkpoint_file,
                                        trusted_checkpoints)
from nexusflow.utils.errors import one_line_errors
from nexusflow.utils.launch import (add_launch_args, build_runner,
                                    finish_distributed, prepare_config,
                                    setup_distributed)
from nexusflow.visualization import enable_show_dir


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a '
                                     'model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--show-dir',
        help='draw every test frame here (track + map models: BEV and '
        'camera panels, a GIF per scene, the predictions for '
        'tools/visualize.py; stock mmdet3d configs: their own '
        'visualization hook)')
    add_launch_args(parser)
    return parser.parse_args()


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
    check_checkpoint_file(args.checkpoint)  # truncated / not a .pth
    cfg = prepare_config(args)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        enable_show_dir(cfg, args.show_dir)

    setup_distributed(cfg)
    runner = build_runner(cfg)
    with trusted_checkpoints():  # resume / load_from
        metrics = runner.test()
    if runner.rank == 0:
        print(format_table(metrics))
        out = osp.join(cfg.work_dir, 'metrics.json')
        with open(out, 'w') as f:
            json.dump(metrics, f, indent=2, default=float)
        print(f'metrics written to {out}')
    finish_distributed()


if __name__ == '__main__':
    with one_line_errors('--debug' in sys.argv[1:]):
        main()
