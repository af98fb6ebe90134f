"""PCA scree plot of task latents, several runs in one figure.

For each run the explained variance ratio of every principal component is
plotted on a log scale (a slower decay = less representational collapse),
and the number of components reaching 90 % and 99 % of the variance is
printed. By default the latents of all tasks are stacked (the shared latent
space); ``--task`` picks one task.

Example:
    python tools/analysis/pca_scree.py baseline.npz nexusflow.npz \
        --labels Baseline NexusFlow --prefix h --out scree.png
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.analysis import plot_scree, scree_report


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='PCA scree plot of latents')
    parser.add_argument('latents', nargs='+', help='latents .npz files')
    parser.add_argument('--labels', nargs='+',
                        help='one label per file (default: file name)')
    parser.add_argument('--prefix', default='z', choices=['z', 'h'],
                        help='z: surrogate latents, h: their inputs h\'')
    parser.add_argument('--task', help='one task (default: all stacked)')
    parser.add_argument('--out', default='scree.png', help='figure file')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        curves, table = scree_report(args.latents, args.labels, args.prefix,
                                     args.task)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    what = args.task or 'all tasks'
    print(f'PCA of {args.prefix} ({what}):\n{table}')
    fig = plot_scree(curves, f'PCA scree of {args.prefix} ({what})')
    fig.savefig(args.out, dpi=120)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
