"""PCA scree statistics of latent features.

The paper reads representational collapse off PCA scree plots: a fast decay
of the eigenvalues means few directions carry the information (collapse), a
slow decay a richer feature space. ``latent_reports.plot_scree`` plots
these numbers.
"""
import numpy as np


def explained_variance_ratio(features) -> np.ndarray:
    """Fraction of the total variance carried by each principal component.

    Args:
        features (array-like): (N, D) samples, N >= 2.

    Returns:
        np.ndarray: (min(N, D),) ratios in decreasing order, summing to 1
        (all zeros when every sample is the same).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f'features: expected an (N, D) array with N >= 2 '
                         f'samples, got shape {np.shape(features)}')
    if not np.isfinite(x).all():
        raise ValueError('features: contains NaN or inf values')
    x = x - x.mean(0, keepdims=True)
    # Singular values of the centred data are the square roots of the
    # covariance eigenvalues, without forming the D x D covariance.
    variances = np.linalg.svd(x, compute_uv=False)**2
    total = variances.sum()
    if total <= 0:
        return np.zeros_like(variances)
    return variances / total


def components_for_variance(ratios, threshold: float) -> int:
    """Smallest number of leading components reaching a variance fraction.

    Args:
        ratios (array-like): explained variance ratios in decreasing order,
            as returned by :func:`explained_variance_ratio`.
        threshold (float): the fraction in (0, 1], e.g. 0.9 or 0.99.

    Returns:
        int: the number of components (0 if the variance is all zero).
    """
    if not 0 < threshold <= 1:
        raise ValueError(f'threshold must be in (0, 1], got {threshold}')
    ratios = np.asarray(ratios, dtype=np.float64)
    if ratios.sum() <= 0:
        return 0
    cumulative = np.cumsum(ratios)
    # The tolerance keeps a ratio list that sums to 1 - 1e-16 from missing
    # a threshold of exactly 1.
    reached = np.nonzero(cumulative >= threshold - 1e-9)[0]
    return int(reached[0]) + 1 if len(reached) else len(ratios)
