"""Unbiased RBF MMD and its permutation test."""
import numpy as np
import pytest

from nexusflow.analysis import (median_bandwidth, mmd2_unbiased,
                                mmd_permutation_test, pairwise_task_mmd)


def gaussian(n, dim=4, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dim)) + shift


def test_same_distribution_is_near_zero_with_high_p_value():
    x, y = gaussian(80, seed=1), gaussian(80, seed=2)
    stat, p_value = mmd_permutation_test(x, y, n_permutations=200, seed=0)
    shifted, _ = mmd_permutation_test(x, gaussian(80, shift=1.0, seed=2))
    assert abs(stat) < 0.1 * shifted
    assert p_value > 0.05


def test_shifted_distributions_grow_with_the_shift():
    x = gaussian(60, seed=1)
    # A fixed bandwidth, so the values are on one scale across shifts.
    values = [mmd2_unbiased(x, gaussian(60, shift=s, seed=2), bandwidth=2.0)
              for s in (0.5, 1.0, 2.0)]
    assert values[0] > 0
    assert values[0] < values[1] < values[2]
    _, p_value = mmd_permutation_test(x, gaussian(60, shift=1.0, seed=2))
    assert p_value < 0.05


def test_unbiased_estimate_matches_the_definition():
    x, y = gaussian(5, dim=2, seed=3), gaussian(7, dim=2, shift=0.3, seed=4)
    sigma = 1.3

    def k(a, b):
        return np.exp(-((a - b)**2).sum() / (2 * sigma**2))

    xx = sum(k(a, b) for i, a in enumerate(x) for j, b in enumerate(x)
             if i != j) / (5 * 4)
    yy = sum(k(a, b) for i, a in enumerate(y) for j, b in enumerate(y)
             if i != j) / (7 * 6)
    xy = sum(k(a, b) for a in x for b in y) / (5 * 7)
    assert mmd2_unbiased(x, y, bandwidth=sigma) == pytest.approx(
        xx + yy - 2 * xy)
    # Two bandwidths sum two kernels.
    both = mmd2_unbiased(x, y, bandwidth=[sigma, 2 * sigma])
    assert both == pytest.approx(
        mmd2_unbiased(x, y, sigma) + mmd2_unbiased(x, y, 2 * sigma))
    # The default is the median heuristic over the pooled sample.
    pooled = np.concatenate([x, y])
    assert mmd2_unbiased(x, y) == pytest.approx(
        mmd2_unbiased(x, y, median_bandwidth(pooled)))


def test_permutation_test_is_seeded():
    x, y = gaussian(20, seed=1), gaussian(20, shift=0.3, seed=2)
    first = mmd_permutation_test(x, y, n_permutations=50, seed=7)
    assert first == mmd_permutation_test(x, y, n_permutations=50, seed=7)
    assert 1 / 51 <= first[1] <= 1


def test_pairwise_task_mmd_orders_pairs():
    latents = dict(a=gaussian(30, seed=1), b=gaussian(30, seed=2),
                   c=gaussian(30, shift=2.0, seed=3))
    pairs = pairwise_task_mmd(latents, bandwidth=2.0, max_samples=20)
    assert list(pairs) == [('a', 'b'), ('a', 'c'), ('b', 'c')]
    assert pairs[('a', 'c')] > pairs[('a', 'b')]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='same dimension'):
        mmd2_unbiased(gaussian(4, dim=2), gaussian(4, dim=3))
    with pytest.raises(ValueError, match='N >= 2'):
        mmd2_unbiased(gaussian(1), gaussian(4))
    with pytest.raises(ValueError, match='bandwidth'):
        mmd2_unbiased(gaussian(4), gaussian(4), bandwidth=[1.0, -1.0])
    with pytest.raises(ValueError, match="task 'b'"):
        pairwise_task_mmd(dict(a=gaussian(4), b=np.full((4, 4), np.nan)))
