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
from typing import Dict, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow  # noqa: E402

import_nexusflow()
from latents_io import (load_latents, markdown_table,  # noqa: E402
                        run_labels)
from nexusflow.analysis import (  # noqa: E402
    components_for_variance, explained_variance_ratio)


def run_features(path: str, prefix: str,
                 task: Optional[str]) -> np.ndarray:
    """The (N, D) features of one run: one task or all tasks stacked.

    Args:
        path (str): latents file.
        prefix (str): ``'z'`` or ``'h'``.
        task (str, optional): the task; None stacks every task's rows.

    Returns:
        np.ndarray: the features.
    """
    latents, _ = load_latents(path, prefix)
    if task is None:
        dims = {t: z.shape[1] for t, z in latents.items()}
        if len(set(dims.values())) != 1:
            raise ValueError(f'{path}: tasks have different sizes {dims}; '
                             f'pick one with --task')
        return np.concatenate(list(latents.values()))
    if task not in latents:
        raise ValueError(f'{path}: no array {prefix}_{task}; tasks are '
                         f'{sorted(latents)}')
    return latents[task]


def plot_scree(curves: Dict[str, np.ndarray], title: str = '') -> Figure:
    """One figure with a scree line per run, log-scale y.

    Args:
        curves (dict[str, np.ndarray]): ``{run label: explained variance
            ratios}``.
        title (str): the axes title.

    Returns:
        matplotlib.figure.Figure: the figure (save or close it).
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, ratios in curves.items():
        # Zero-variance components cannot be drawn on a log axis.
        shown = ratios[ratios > 0]
        ax.plot(np.arange(1, len(shown) + 1), shown, marker='.', label=label)
    ax.set_yscale('log')
    ax.set_xlabel('principal component')
    ax.set_ylabel('explained variance ratio')
    ax.set_title(title)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def scree_report(paths: Sequence[str], labels: Optional[Sequence[str]],
                 prefix: str, task: Optional[str]
                 ) -> Tuple[Dict[str, np.ndarray], str]:
    """Scree curves and the 90 % / 99 % table of several runs.

    Args:
        paths (Sequence[str]): latents files, one per run.
        labels (Sequence[str], optional): run labels.
        prefix (str): ``'z'`` or ``'h'``.
        task (str, optional): one task, or None for all stacked.

    Returns:
        tuple[dict[str, np.ndarray], str]: ``{label: ratios}`` and the
        markdown table.
    """
    labels = run_labels(paths, labels)
    curves, rows = {}, []
    for label, path in zip(labels, paths):
        ratios = explained_variance_ratio(run_features(path, prefix, task))
        curves[label] = ratios
        rows.append([label, str(len(ratios)),
                     str(components_for_variance(ratios, 0.9)),
                     str(components_for_variance(ratios, 0.99))])
    table = markdown_table(['run', 'components', '90 % variance',
                            '99 % variance'], rows)
    return curves, table


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
    plt.close(fig)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
