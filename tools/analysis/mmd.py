"""Pairwise-task MMD of task latents, one row per run (the paper's table).

Reads latents files written by ``collect_latents.py`` and prints, as
markdown, the unbiased squared MMD (Gaussian RBF kernel, median-heuristic
bandwidth unless ``--bandwidth`` is given) between the latents of every
pair of tasks and their mean, over all samples and then per domain.
``--readme README.md --section NAME`` writes the tables between the
README's ``<!-- BEGIN results:NAME -->`` / ``<!-- END results:NAME -->``
markers.

Example:
    python tools/analysis/mmd.py baseline.npz nexusflow.npz \
        --labels Baseline NexusFlow --max-samples 500 --permutations 200
    python tools/analysis/mmd.py baseline.npz nexusflow.npz \
        --labels Baseline NexusFlow --readme README.md \
        --section uniad-tiny-mmd
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow

import_nexusflow()
from _report_cli import add_readme_args, parse_report_args, report

from nexusflow.analysis import mmd_tables


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pairwise-task MMD of task latents per run')
    parser.add_argument('latents', nargs='+', help='latents .npz files')
    parser.add_argument('--labels', nargs='+',
                        help='one row label per file (default: file name)')
    parser.add_argument('--prefix', default='z', choices=['z', 'h'],
                        help='z: surrogate latents, h: their inputs h\'')
    parser.add_argument(
        '--bandwidth', type=float, nargs='+',
        help='RBF sigma(s); several give a summed multi-kernel MMD '
        '(default: median heuristic over the pooled pair)')
    parser.add_argument('--max-samples', type=int, default=1000,
                        help='random samples per run (0: all)')
    parser.add_argument('--permutations', type=int, default=0,
                        help='permutation-test p-values with this many '
                        'permutations (0: none)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the tables here')
    add_readme_args(parser, 'tables')
    return parse_report_args(parser)


def main() -> None:
    args = parse_args()
    try:
        tables = mmd_tables(args.latents, args.labels, args.prefix,
                            bandwidth=args.bandwidth,
                            max_samples=args.max_samples,
                            permutations=args.permutations, seed=args.seed)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    report(tables, args)


if __name__ == '__main__':
    main()
