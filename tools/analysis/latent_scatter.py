"""2-D PCA scatter of task latents: colour = task, marker = city.

One panel per run: the latents of all tasks of the run are projected on
its first two principal components. Overlapping task clouds mean aligned
tasks; a cloud per city means the latents carry the domain.

Example:
    python tools/analysis/latent_scatter.py baseline.npz nexusflow.npz \
        --labels Baseline NexusFlow --out latent_scatter.png
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.analysis import run_labels
from nexusflow.utils.errors import one_line_errors
from nexusflow.visualization import plot_latent_scatter, scatter_runs


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PCA scatter of task latents by task and city')
    parser.add_argument('latents', nargs='+', help='latents .npz files '
                        '(tools/analysis/collect_latents.py)')
    parser.add_argument('--labels', nargs='+',
                        help='one label per file (default: file name)')
    parser.add_argument('--prefix', default='z', choices=['z', 'h'],
                        help='z: surrogate latents, h: their inputs h\'')
    parser.add_argument('--max-points', type=int, default=0,
                        help='random samples per run and task (0: all)')
    parser.add_argument('--title', default='', help='figure title')
    parser.add_argument('--out', default='latent_scatter.png',
                        help='figure file')
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with one_line_errors(args.debug):
        plot(args)


def plot(args: argparse.Namespace) -> None:
    """Draws and saves the figure; bad input raises with a clear message."""
    labels = run_labels(args.latents, args.labels)
    fig = plot_latent_scatter(scatter_runs(args.latents, labels,
                                           args.prefix), args.title,
                              args.max_points)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
