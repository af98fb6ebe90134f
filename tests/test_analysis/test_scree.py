"""PCA scree statistics."""
import numpy as np
import pytest

from nexusflow.analysis import (components_for_variance,
                                explained_variance_ratio)


def test_low_rank_matrix_shows_its_rank():
    rng = np.random.default_rng(0)
    rank = 3
    x = rng.standard_normal((100, rank)) @ rng.standard_normal((rank, 12))
    ratios = explained_variance_ratio(x)
    assert ratios.shape == (12, )
    assert ratios.sum() == pytest.approx(1.0)
    assert np.all(np.diff(ratios) <= 1e-12)
    assert ratios[rank:].max() < 1e-10
    assert components_for_variance(ratios, 0.999999) == rank


def test_counts_for_known_spectrum():
    # Independent axes with variances 16, 4, 1 (ratios 16/21, 4/21, 1/21).
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4000, 3))
    # Orthonormal, zero-mean columns scaled by the standard deviations.
    x = np.linalg.qr(x - x.mean(0))[0] * np.array([4.0, 2.0, 1.0])
    ratios = explained_variance_ratio(x)
    assert ratios == pytest.approx(np.array([16, 4, 1]) / 21, rel=1e-6)
    assert components_for_variance(ratios, 0.7) == 1
    assert components_for_variance(ratios, 0.9) == 2
    assert components_for_variance(ratios, 0.99) == 3


def test_constant_features_and_bad_input():
    assert components_for_variance(explained_variance_ratio(
        np.ones((5, 3))), 0.9) == 0
    with pytest.raises(ValueError, match='N >= 2'):
        explained_variance_ratio(np.ones(3))
    with pytest.raises(ValueError, match='threshold'):
        components_for_variance([1.0], 1.5)
