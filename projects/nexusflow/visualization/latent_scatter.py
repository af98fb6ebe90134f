"""2-D PCA scatter of the task latents z, one panel per run.

Each run's latents of all tasks are stacked (they live in one shared
space) and projected on that run's first two principal components; points
are coloured by task and marked by city (the part of ``log.location``
before the first ``-``: ``boston-seaport`` -> ``boston``). Tasks whose
clouds overlap are aligned; separate clouds per city show a domain gap.
"""
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn
    from matplotlib.figure import Figure

MARKERS = ('o', '^', 's', 'D', 'v', 'P', 'X')
Run = Tuple[Dict[str, np.ndarray], Optional[np.ndarray]]


def pca_2d(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Projection on the first two principal components.

    Args:
        features (np.ndarray): ``(N, D)``, N >= 2.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(N, 2)`` coordinates (a zero
        column where D < 2 or the data has fewer directions) and the two
        components' explained variance ratios.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f'latents: expected an (N, D) array with N >= 2, '
                         f'got shape {x.shape}')
    if not np.isfinite(x).all():
        raise ValueError('latents: contains NaN or inf values')
    x = x - x.mean(0, keepdims=True)
    _, sing, vt = np.linalg.svd(x, full_matrices=False)
    coords = np.zeros((len(x), 2))
    k = min(2, vt.shape[0])
    coords[:, :k] = x @ vt[:k].T
    var = sing**2
    ratios = np.zeros(2)
    if var.sum() > 0:
        ratios[:k] = var[:k] / var.sum()
    return coords, ratios


def city_of(domain: str) -> str:
    """``boston-seaport`` -> ``boston``, ``singapore-onenorth`` ->
    ``singapore``."""
    return str(domain).split('-', 1)[0]


def plot_latent_scatter(runs: Dict[str, Run],
                        title: str = '',
                        max_points: int = 0,
                        seed: int = 0) -> 'Figure':
    """One scatter panel per run: PCA of the stacked task latents.

    The figure is built without pyplot (no display backend, no global
    figure left behind).

    Args:
        runs (dict[str, tuple]): ``{label: ({task: (N, D)}, domains (N,)
            or None)}``, as :func:`nexusflow.analysis.load_latents`
            returns them.
        title (str): the figure title.
        max_points (int): random samples per run and task (0: all).
        seed (int): seed of that subsampling.

    Returns:
        matplotlib.figure.Figure: the figure (``fig.savefig(path)``).
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    if not runs:
        raise ValueError('plot_latent_scatter: no runs')
    tasks: List[str] = []
    cities = set()
    for latents, domains in runs.values():
        tasks += [t for t in latents if t not in tasks]
        if domains is not None:
            cities.update(map(city_of, domains))
    cities = sorted(cities)
    colors = {t: f'C{i % 10}' for i, t in enumerate(tasks)}
    markers = {c: MARKERS[i % len(MARKERS)] for i, c in enumerate(cities)}
    rng = np.random.default_rng(seed)

    fig = Figure(figsize=(4.2 * len(runs), 4.2))
    axes = np.atleast_1d(fig.subplots(1, len(runs), squeeze=False)[0])
    for ax, (label, (latents, domains)) in zip(axes, runs.items()):
        names = list(latents)
        dims = {t: z.shape[1] for t, z in latents.items()}
        if len(set(dims.values())) != 1:
            raise ValueError(f'run {label}: tasks have latents of different '
                             f'sizes {dims}; they are not one space')
        coords, ratios = pca_2d(np.concatenate([latents[t] for t in names]))
        num = len(latents[names[0]])
        keep = np.arange(num)
        if max_points and num > max_points:
            keep = np.sort(rng.choice(num, max_points, replace=False))
        for n, task in enumerate(names):
            points = coords[n * num:(n + 1) * num][keep]
            groups = [None] if domains is None else cities
            for city in groups:
                mask = np.ones(len(keep), bool) if city is None else \
                    np.array([city_of(d) == city for d in domains[keep]])
                if mask.any():
                    ax.scatter(points[mask, 0], points[mask, 1], s=18,
                               c=colors[task], alpha=0.75,
                               marker='o' if city is None else markers[city],
                               edgecolors='none')
        ax.set_title(label)
        ax.set_xlabel(f'PC1 ({100 * ratios[0]:.0f} %)')
        ax.set_ylabel(f'PC2 ({100 * ratios[1]:.0f} %)')
        ax.grid(True, alpha=0.3)
    handles = [Line2D([], [], ls='', marker='o', color=colors[t], label=t)
               for t in tasks]
    handles += [Line2D([], [], ls='', marker=markers[c], color='0.4',
                       label=c) for c in cities]
    fig.legend(handles=handles, loc='lower center', ncol=len(handles),
               frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def scatter_runs(paths: Sequence[str], labels: Sequence[str],
                 prefix: str = 'z') -> Dict[str, Run]:
    """Loads latents files for :func:`plot_latent_scatter`.

    Args:
        paths (Sequence[str]): latents ``.npz`` files.
        labels (Sequence[str]): one label per file.
        prefix (str): ``'z'`` (latents) or ``'h'`` (surrogate inputs).

    Returns:
        dict[str, tuple]: ``{label: (latents, domains)}``.
    """
    from ..analysis.latents_io import load_latents
    if len(labels) != len(paths):
        raise ValueError(f'{len(labels)} labels for {len(paths)} latents '
                         f'files')
    if len(set(labels)) != len(labels):
        raise ValueError(f'runs need distinct labels, got {list(labels)} '
                         f'(pass --labels)')
    return {label: load_latents(path, prefix)
            for label, path in zip(labels, paths)}
