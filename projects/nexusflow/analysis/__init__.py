"""Analysis of trained runs: task latents, MMD between them, PCA scree and
result tables (``tools/analysis/`` are thin command lines over it)."""
from .mmd import (median_bandwidth, mmd2_unbiased, mmd_permutation_test,
                  pairwise_task_mmd, rbf_kernel)
from .scree import components_for_variance, explained_variance_ratio

__all__ = [
    'components_for_variance', 'explained_variance_ratio',
    'median_bandwidth', 'mmd2_unbiased', 'mmd_permutation_test',
    'pairwise_task_mmd', 'rbf_kernel'
]
