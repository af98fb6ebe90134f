"""Trains, tests and compares the tiny comparison configs side by side.

One command for the README's result sections on the synthetic sets: the
UniAD-tiny runs (``--uniad-runs``, ``--iters``) and the NYUv2-tiny dense
runs (``--dense-runs``, ``--dense-epochs``) are trained and tested, the
latents of every run are collected (runs without surrogates through the
probe protocol: ``--uniad-probe`` / ``--dense-probe``, ``--probe-steps``),
and the metrics and MMD² tables are written to ``--readme`` (see
``nexusflow.analysis.compare`` for the runs and what the MMD numbers
mean). Every step is a plain command of the project's tools, printed
before it runs. ``--skip-existing`` skips a step whose output exists and is
newer than its input, so an interrupted comparison resumes where it
stopped; ``--dry-run`` prints the plan and what would be skipped.
Everything goes under ``--work-dir``.

Example:
    python tools/analysis/compare_tiny.py --skip-existing
    python tools/analysis/compare_tiny.py --iters 100 --dense-epochs 10 \
        --work-dir work_dirs/compare_quick --readme ''
"""
import argparse
import os.path as osp
import sys
from typing import Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.analysis import CompareSettings, compare_tiny
from nexusflow.analysis.compare import DENSE_RUNS, UNIAD_RUNS

DEFAULTS = CompareSettings()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train, test and compare the tiny configs side by side')
    parser.add_argument('--work-dir', default=DEFAULTS.work_dir,
                        help='everything goes here')
    parser.add_argument('--iters', type=int, default=DEFAULTS.iters,
                        help='training iterations of each UniAD-tiny run')
    parser.add_argument('--uniad-runs', nargs='*', default=DEFAULTS.uniad_runs,
                        choices=list(UNIAD_RUNS), metavar='RUN',
                        help=f'UniAD-tiny runs, of {list(UNIAD_RUNS)} '
                        f'(default: {" ".join(DEFAULTS.uniad_runs)}; none: '
                        'skip UniAD)')
    parser.add_argument('--dense-epochs',
                        type=int, default=DEFAULTS.dense_epochs,
                        help='training epochs of each dense run')
    parser.add_argument('--dense-runs', nargs='*', default=DEFAULTS.dense_runs,
                        choices=list(DENSE_RUNS), metavar='RUN',
                        help=f'dense runs, of {list(DENSE_RUNS)} (default: '
                        'all; none: skip the dense set)')
    parser.add_argument('--dense-root', default=DEFAULTS.dense_root,
                        help='synthetic NYUv2 set of the dense runs '
                        '(created when missing)')
    parser.add_argument('--dense-train',
                        type=int, default=DEFAULTS.dense_train,
                        help='training images of a created dense set')
    parser.add_argument('--dense-val', type=int, default=DEFAULTS.dense_val,
                        help='val images of a created dense set (the MMD '
                        'samples)')
    parser.add_argument('--uniad-probe', default=DEFAULTS.uniad_probe,
                        help='config whose surrogates probe UniAD runs '
                        'without surrogates')
    parser.add_argument('--dense-probe', default=DEFAULTS.dense_probe,
                        help='config whose surrogates probe dense runs '
                        'without surrogates')
    parser.add_argument('--probe-steps',
                        type=int, default=DEFAULTS.probe_steps,
                        help='alignment steps fitting the probe surrogates')
    parser.add_argument('--latent-samples',
                        type=int, default=DEFAULTS.latent_samples,
                        help='latents of at most this many val samples (0: '
                        'all)')
    parser.add_argument('--permutations',
                        type=int, default=DEFAULTS.permutations,
                        help='permutations of the MMD p-values')
    parser.add_argument('--readme', default=DEFAULTS.readme,
                        help='file whose result sections get the tables '
                        '(empty: do not write it)')
    parser.add_argument('--skip-existing', action='store_true',
                        help='skip steps whose output is already there')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan without running anything')
    args = parser.parse_args(argv)
    for name in ('iters', 'dense_epochs', 'probe_steps'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    compare_tiny(CompareSettings(**vars(parse_args(argv))), ROOT)


if __name__ == '__main__':
    main()
