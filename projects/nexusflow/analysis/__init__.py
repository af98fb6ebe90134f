"""Analysis of trained runs: task latents (and the probe that gives a plain
host some), MMD between them, PCA scree, result tables, the README's
generated sections and the tiny comparison that fills them
(``tools/analysis/`` are thin command lines over it)."""
from .compare import CompareSettings, build_plan, compare_tiny
from .latent_reports import mmd_tables, plot_scree, scree_report
from .latents import (LatentRecorder, collect, collect_run, find_bank,
                      fit_probe, graft_surrogates, load_host, load_model)
from .latents_io import load_latents, save_latents
from .mmd import (median_bandwidth, mmd2_unbiased, mmd_permutation_test,
                  pairwise_task_mmd, rbf_kernel)
from .readme import publish, replace_section, section_markers
from .scree import components_for_variance, explained_variance_ratio
from .tables import (PRESETS, Column, format_table, load_metrics,
                     markdown_table, run_labels, select_columns, summarize,
                     write_csv)

__all__ = [
    'Column', 'CompareSettings', 'LatentRecorder', 'PRESETS', 'build_plan',
    'collect', 'collect_run', 'compare_tiny', 'components_for_variance',
    'explained_variance_ratio', 'find_bank', 'fit_probe', 'format_table',
    'graft_surrogates', 'load_host', 'load_latents', 'load_metrics',
    'load_model', 'markdown_table', 'median_bandwidth', 'mmd2_unbiased',
    'mmd_permutation_test', 'mmd_tables', 'pairwise_task_mmd',
    'plot_scree', 'publish', 'rbf_kernel', 'replace_section', 'run_labels',
    'save_latents', 'scree_report', 'section_markers', 'select_columns',
    'summarize', 'write_csv'
]
