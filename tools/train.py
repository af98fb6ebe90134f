"""Trains any mmdet3d 1.x config, with the nexusflow modules registered.

Example:
    python tools/train.py configs/nexusflow/uniad_domainsplit_tiny.py
    tools/dist_train.sh configs/nexusflow/uniad_domainsplit.py 8
"""
import argparse
import sys

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.engine import use_safe_training
from nexusflow.utils.checkpoint import (check_checkpoint_file, find_resumable,
                                        trusted_checkpoints)
from nexusflow.utils.errors import one_line_errors
from nexusflow.utils.launch import (add_launch_args, build_runner,
                                    check_load_from, finish_distributed,
                                    prepare_config, setup_distributed)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a 3D detector / '
                                     'multi-task model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the real batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest one in '
        'the work dir when no path is given')
    add_launch_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = prepare_config(args)

    if args.amp:
        if cfg.optim_wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            print('AMP is already enabled in the config.')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in \
                cfg.auto_scale_lr:
            raise SystemExit('error: --auto-scale-lr needs '
                             '`auto_scale_lr.base_batch_size` in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':  # the newest whole checkpoint, if any
        cfg.load_from = find_resumable(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    check_load_from(cfg)
    if cfg.get('load_from') and '://' not in cfg.load_from:
        check_checkpoint_file(cfg.load_from, resume=cfg.get('resume'))
    use_safe_training(cfg)  # atomic checkpoints, no NaN/Inf updates

    setup_distributed(cfg)
    runner = build_runner(cfg)
    with trusted_checkpoints():  # resume / load_from
        runner.train()
    finish_distributed()


if __name__ == '__main__':
    with one_line_errors('--debug' in sys.argv[1:]):
        main()
