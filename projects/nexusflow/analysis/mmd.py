"""Maximum mean discrepancy (MMD) between task latent distributions.

The paper compares how well task latents are aligned by the MMD between the
latents of every pair of tasks (lower = better aligned). These are pure
numpy functions; ``latent_reports.mmd_tables`` applies them to latents
files.
"""
import itertools
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

Bandwidth = Union[None, float, Sequence[float]]


def _as_samples(x, name: str) -> np.ndarray:
    """Returns ``x`` as a float64 (N, D) array with N >= 2, or raises."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 2:
        raise ValueError(f'{name}: expected an (N, D) array with N >= 2 '
                         f'samples, got shape {np.shape(x)}')
    if not np.isfinite(arr).all():
        raise ValueError(f'{name}: contains NaN or inf values')
    return arr


def squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances.

    Args:
        x (np.ndarray): (M, D) samples.
        y (np.ndarray): (N, D) samples.

    Returns:
        np.ndarray: (M, N) squared distances, clipped at 0 against rounding.
    """
    d2 = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
    return np.maximum(d2, 0.0)


def median_bandwidth(pooled: np.ndarray) -> float:
    """Median heuristic: the median distance between distinct samples.

    Args:
        pooled (np.ndarray): (N, D) samples of both distributions together.

    Returns:
        float: the bandwidth sigma; 1.0 if all samples coincide.
    """
    pooled = _as_samples(pooled, 'pooled samples')
    d2 = squared_distances(pooled, pooled)
    off_diag = d2[~np.eye(len(pooled), dtype=bool)]
    sigma = float(np.sqrt(np.median(off_diag)))
    return sigma if sigma > 0 else 1.0


def _bandwidths(pooled: np.ndarray, bandwidth: Bandwidth) -> np.ndarray:
    """Resolves ``bandwidth`` (None, one value or several) to an array."""
    if bandwidth is None:
        return np.array([median_bandwidth(pooled)])
    sigmas = np.atleast_1d(np.asarray(bandwidth, dtype=np.float64))
    if sigmas.ndim != 1 or sigmas.size == 0 or not np.all(sigmas > 0) \
            or not np.isfinite(sigmas).all():
        raise ValueError(f'bandwidth must be None, a positive number or a '
                         f'non-empty list of positive numbers, got '
                         f'{bandwidth!r}')
    return sigmas


def rbf_kernel(x: np.ndarray, y: np.ndarray,
               bandwidths: Sequence[float]) -> np.ndarray:
    """Sum of Gaussian RBF kernels ``exp(-|x - y|^2 / (2 sigma^2))``.

    Args:
        x (np.ndarray): (M, D) samples.
        y (np.ndarray): (N, D) samples.
        bandwidths (Sequence[float]): the sigmas; one kernel per sigma,
            summed (a multi-kernel MMD).

    Returns:
        np.ndarray: (M, N) kernel matrix.
    """
    d2 = squared_distances(x, y)
    return sum(np.exp(-d2 / (2.0 * s * s)) for s in bandwidths)


def _mmd2_from_kernel(kernel: np.ndarray, in_x: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for one or many splits of a pooled kernel matrix.

    Args:
        kernel (np.ndarray): (N, N) kernel of the pooled sample.
        in_x (np.ndarray): (P, N) 0/1 membership of the first sample, one
            row per split.

    Returns:
        np.ndarray: (P,) unbiased MMD^2 of each split.
    """
    in_y = 1.0 - in_x
    m, n = in_x[0].sum(), in_y[0].sum()
    # The U-statistic leaves out the i == j terms of the within-sample sums.
    off = kernel - np.diag(np.diag(kernel))
    k_xx = ((in_x @ off) * in_x).sum(1)
    k_yy = ((in_y @ off) * in_y).sum(1)
    k_xy = ((in_x @ kernel) * in_y).sum(1)
    return (k_xx / (m * (m - 1)) + k_yy / (n * (n - 1)) -
            2.0 * k_xy / (m * n))


def mmd2_unbiased(x, y, bandwidth: Bandwidth = None) -> float:
    """Unbiased estimate (U-statistic) of the squared MMD with an RBF kernel.

    The kernel is a Gaussian RBF. By default its bandwidth is the median
    heuristic over the pooled sample (the median distance between distinct
    samples of ``x`` and ``y`` together), which adapts to the scale of the
    latents so runs with differently scaled latents stay comparable in
    "units of typical distance". A list of bandwidths gives a multi-kernel
    MMD: the kernels are summed, which is more sensitive across scales.

    The estimate is unbiased, so it is close to 0 (and may be slightly
    negative) when both samples come from one distribution.

    Args:
        x (array-like): (M, D) samples of the first distribution, M >= 2.
        y (array-like): (N, D) samples of the second distribution, N >= 2.
        bandwidth (float | Sequence[float], optional): kernel sigma(s);
            None (default) uses the median heuristic.

    Returns:
        float: the unbiased MMD^2 estimate.
    """
    x, y = _as_samples(x, 'x'), _as_samples(y, 'y')
    if x.shape[1] != y.shape[1]:
        raise ValueError(f'x and y must have the same dimension, got '
                         f'{x.shape[1]} and {y.shape[1]}')
    pooled = np.concatenate([x, y])
    kernel = rbf_kernel(pooled, pooled, _bandwidths(pooled, bandwidth))
    in_x = np.zeros((1, len(pooled)))
    in_x[0, :len(x)] = 1.0
    return float(_mmd2_from_kernel(kernel, in_x)[0])


def mmd_permutation_test(x,
                         y,
                         bandwidth: Bandwidth = None,
                         n_permutations: int = 200,
                         seed: int = 0) -> Tuple[float, float]:
    """Unbiased MMD^2 and its permutation-test p-value.

    The kernel matrix of the pooled sample is computed once (the median
    bandwidth does not depend on the split); every permutation relabels
    the pooled samples, and all permutations are scored in one batch of
    matrix products.

    Args:
        x (array-like): (M, D) samples, M >= 2.
        y (array-like): (N, D) samples, N >= 2.
        bandwidth (float | Sequence[float], optional): see
            :func:`mmd2_unbiased`.
        n_permutations (int): number of random relabellings. Defaults to
            200.
        seed (int): seed of the permutations. Defaults to 0.

    Returns:
        tuple[float, float]: the MMD^2 estimate and the p-value
        ``(1 + #{permuted >= observed}) / (1 + n_permutations)``.
    """
    if int(n_permutations) < 1:
        raise ValueError(f'n_permutations must be >= 1, got '
                         f'{n_permutations}')
    x, y = _as_samples(x, 'x'), _as_samples(y, 'y')
    if x.shape[1] != y.shape[1]:
        raise ValueError(f'x and y must have the same dimension, got '
                         f'{x.shape[1]} and {y.shape[1]}')
    pooled = np.concatenate([x, y])
    total = len(pooled)
    kernel = rbf_kernel(pooled, pooled, _bandwidths(pooled, bandwidth))
    observed = np.zeros((1, total))
    observed[0, :len(x)] = 1.0
    stat = float(_mmd2_from_kernel(kernel, observed)[0])

    rng = np.random.default_rng(seed)
    order = rng.random((int(n_permutations), total)).argsort(1)
    in_x = (order < len(x)).astype(np.float64)
    permuted = _mmd2_from_kernel(kernel, in_x)
    p_value = (1.0 + float((permuted >= stat).sum())) / (1.0 +
                                                         n_permutations)
    return stat, p_value


def pairwise_task_mmd(latents: Dict[str, np.ndarray],
                      bandwidth: Bandwidth = None,
                      max_samples: Optional[int] = None,
                      seed: int = 0) -> Dict[Tuple[str, str], float]:
    """Unbiased MMD^2 between the latents of every pair of tasks.

    Args:
        latents (dict[str, array-like]): ``{task: (N, D)}``.
        bandwidth (float | Sequence[float], optional): see
            :func:`mmd2_unbiased`.
        max_samples (int, optional): use at most this many random rows of
            each task (the kernel matrix is quadratic in the samples).
        seed (int): seed of the subsampling. Defaults to 0.

    Returns:
        dict[tuple[str, str], float]: ``{(task_a, task_b): MMD^2}`` for
        every unordered pair, in the order of ``latents``.
    """
    if len(latents) < 2:
        raise ValueError(f'need latents of at least two tasks, got '
                         f'{sorted(latents)}')
    rng = np.random.default_rng(seed)
    samples = {}
    for task, z in latents.items():
        z = _as_samples(z, f'latents of task {task!r}')
        if max_samples is not None and len(z) > max_samples:
            z = z[np.sort(rng.choice(len(z), max_samples, replace=False))]
        samples[task] = z
    return {(a, b): mmd2_unbiased(samples[a], samples[b], bandwidth)
            for a, b in itertools.combinations(samples, 2)}
