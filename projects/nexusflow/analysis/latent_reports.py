"""Reports over latents files, one row (or curve) per run.

:func:`mmd_tables` gives the paper's table: the unbiased squared MMD
(Gaussian RBF kernel, median-heuristic bandwidth unless one is given)
between the latents of every pair of tasks and their mean, over all
samples and then per domain. :func:`scree_report` and :func:`plot_scree`
give the PCA scree curves (a slower decay = less representational
collapse) and how many components reach 90 % and 99 % of the variance.
"""
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .latents_io import load_latents
from .mmd import Bandwidth, mmd2_unbiased, mmd_permutation_test
from .scree import components_for_variance, explained_variance_ratio
from .tables import markdown_table, run_labels

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn
    from matplotlib.figure import Figure

MISSING = '–'


def mmd_cells(latents: Dict[str, np.ndarray],
              pairs: Sequence[Tuple[str, str]],
              bandwidth: Bandwidth = None,
              max_samples: int = 0,
              permutations: int = 0,
              seed: int = 0) -> List[str]:
    """Formatted cells of one run: every pair, then their mean.

    Args:
        latents (dict[str, np.ndarray]): ``{task: (N, D)}`` of one run.
        pairs (Sequence[tuple[str, str]]): the (task_a, task_b) columns.
        bandwidth (float | Sequence[float], optional): RBF sigma(s); None
            for the median heuristic.
        max_samples (int): random samples of the run (0: all).
        permutations (int): permutations of a p-value (0: none).
        seed (int): seed of the subsampling and the permutations.

    Returns:
        list[str]: one cell per pair and the mean.
    """
    rng = np.random.default_rng(seed)
    num = len(next(iter(latents.values())))
    keep = np.arange(num)
    if max_samples and num > max_samples:
        keep = np.sort(rng.choice(num, max_samples, replace=False))
    cells, values = [], []
    for a, b in pairs:
        if a not in latents or b not in latents or len(keep) < 2:
            cells.append(MISSING)
            continue
        x, y = latents[a][keep], latents[b][keep]
        if permutations > 0:
            value, p_value = mmd_permutation_test(x, y, bandwidth,
                                                  permutations, seed)
            cells.append(f'{value:.4f} (p={p_value:.3f})')
        else:
            value = mmd2_unbiased(x, y, bandwidth)
            cells.append(f'{value:.4f}')
        values.append(value)
    cells.append(f'{np.mean(values):.4f}' if values else MISSING)
    return cells


def mmd_tables(paths: Sequence[str],
               labels: Optional[Sequence[str]] = None,
               prefix: str = 'z',
               **options) -> str:
    """Markdown tables of pairwise-task MMD, overall and per domain.

    Args:
        paths (Sequence[str]): latents files, one per run.
        labels (Sequence[str], optional): row labels (default: the file
            names).
        prefix (str): ``'z'`` (latents) or ``'h'`` (their inputs h').
        **options: ``bandwidth``, ``max_samples``, ``permutations``,
            ``seed`` of :func:`mmd_cells`.

    Returns:
        str: the tables, each under a title line.
    """
    labels = run_labels(paths, labels)
    runs = [load_latents(p, prefix) for p in paths]
    tasks = []
    for latents, _ in runs:
        tasks += [t for t in latents if t not in tasks]
    if len(tasks) < 2:
        raise ValueError(f'need latents of at least two tasks, found '
                         f'{tasks} in {list(paths)}')
    pairs = [(a, b) for i, a in enumerate(tasks) for b in tasks[i + 1:]]
    header = ['run'] + [f'{a} vs {b}' for a, b in pairs] + ['mean']
    domains = sorted({str(d) for _, dom in runs if dom is not None
                      for d in dom})
    out = []
    for domain in [None] + domains:
        rows = []
        for label, (latents, dom) in zip(labels, runs):
            if domain is not None:
                if dom is None:
                    rows.append([label] + [MISSING] * (len(pairs) + 1))
                    continue
                latents = {t: z[dom == domain] for t, z in latents.items()}
            rows.append([label] + mmd_cells(latents, pairs, **options))
        title = 'all samples' if domain is None else f'domain {domain}'
        # A blank line before the table: markdown renders it as a table
        # only when it does not continue the title's paragraph.
        out.append(f'MMD² between task latents ({prefix}), {title}:\n\n' +
                   markdown_table(header, rows))
    return '\n\n'.join(out)


def run_features(path: str, prefix: str = 'z',
                 task: Optional[str] = None) -> np.ndarray:
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


def scree_report(paths: Sequence[str],
                 labels: Optional[Sequence[str]] = None,
                 prefix: str = 'z',
                 task: Optional[str] = None
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


def plot_scree(curves: Dict[str, np.ndarray],
               title: str = '') -> 'Figure':
    """One figure with a scree line per run, log-scale y.

    The figure is built without pyplot, so it needs no display backend and
    leaves no global figure behind.

    Args:
        curves (dict[str, np.ndarray]): ``{run label: explained variance
            ratios}``.
        title (str): the axes title.

    Returns:
        matplotlib.figure.Figure: the figure (``fig.savefig(path)``).
    """
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
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
