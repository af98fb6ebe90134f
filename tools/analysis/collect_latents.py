"""Collects the surrogate inputs h' and latents z of a trained model.

Builds the model of CONFIG, loads CKPT, runs the val (or test) dataloader
through the loss path and stores ``h_<task>``, ``z_<task>`` (N, D) of the
model's ``SurrogateBank`` (``model.neck.bank``, or ``bank`` of a
``NexusFlowWrapper``) and ``domain`` (N,) in an ``.npz`` that ``mmd.py``
and ``pca_scree.py`` read. A model without surrogates is probed:
``--probe-config`` grafts the ``model.neck`` of a NexusFlow config onto the
frozen host and fits only its surrogates to the alignment loss for
``--probe-steps`` steps first (see ``nexusflow.analysis.latents``); the
per-step losses are saved as ``probe_loss``.

Example:
    python tools/analysis/collect_latents.py \
        configs/dense/nyuv2_segnet_nexusflow_onelabel.py \
        work_dirs/nyuv2_segnet_nexusflow_onelabel/epoch_200.pth \
        --out latents/nexusflow.npz --max-samples 300
    python tools/analysis/collect_latents.py \
        configs/nexusflow/uniad_baseline_domainsplit_tiny.py \
        work_dirs/baseline/iter_300.pth --out latents/baseline.npz \
        --probe-config configs/nexusflow/uniad_domainsplit_tiny.py \
        --probe-steps 100
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow

import_nexusflow()
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from nexusflow.analysis import collect_run, save_latents
from nexusflow.utils.checkpoint import trusted_checkpoints
from nexusflow.utils.launch import check_data_roots, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Collect surrogate inputs h\' and latents z per task')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output .npz file')
    parser.add_argument('--split', default='val', choices=['val', 'test'],
                        help='which dataloader of the config to run')
    parser.add_argument('--max-samples', type=int,
                        help='stop after this many samples')
    parser.add_argument(
        '--probe-config',
        help='for a model without surrogates: a NexusFlow config whose '
        'surrogates are attached to the frozen host and fitted first')
    parser.add_argument('--probe-steps', type=int, default=100,
                        help='alignment steps fitting the probe surrogates')
    parser.add_argument('--probe-lr', type=float, default=1e-3,
                        help='Adam learning rate of the probe')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the probe surrogates and data order')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args()
    if args.probe_steps < 1:
        parser.error('--probe-steps must be >= 1')
    return args


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist')
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    if not cfg.get(f'{args.split}_dataloader'):
        sys.exit(f'error: {args.config} has no {args.split}_dataloader')
    check_data_roots(cfg)
    try:
        # A checkpoint of tools/train.py also holds mmengine's message hub.
        with trusted_checkpoints():
            arrays = collect_run(cfg, args.checkpoint, args.split,
                                 args.max_samples,
                                 probe_config=args.probe_config,
                                 probe_steps=args.probe_steps,
                                 probe_lr=args.probe_lr, seed=args.seed)
    except ValueError as err:
        sys.exit(f'error: {err}')
    print(save_latents(args.out, arrays))


if __name__ == '__main__':
    main()
