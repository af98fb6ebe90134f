"""Pairwise-task MMD of task latents, one row per run (the paper's table).

Reads latents files written by ``collect_latents.py`` and prints, as
markdown, the unbiased squared MMD (Gaussian RBF kernel, median-heuristic
bandwidth unless ``--bandwidth`` is given) between the latents of every
pair of tasks and their mean, over all samples and then per domain.
``--readme README.md --section NAME`` writes the tables between the
README's ``<!-- BEGIN results:NAME -->`` / ``<!-- END results:NAME -->``
markers.

Example:
    python tools/analysis/mmd.py baseline.npz nexusflow.npz \
        --labels Baseline NexusFlow --max-samples 500 --permutations 200
    python tools/analysis/mmd.py baseline.npz nexusflow.npz \
        --labels Baseline NexusFlow --readme README.md \
        --section uniad-tiny-mmd
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow  # noqa: E402

import_nexusflow()
from latents_io import (load_latents, markdown_table,  # noqa: E402
                        replace_section, run_labels)
from nexusflow.analysis import mmd2_unbiased, mmd_permutation_test  # noqa: E402

MISSING = '–'


def run_row(latents: Dict[str, np.ndarray], pairs: Sequence[tuple],
            args: argparse.Namespace) -> List[str]:
    """Formatted cells of one run: every pair, then their mean.

    Args:
        latents (dict[str, np.ndarray]): ``{task: (N, D)}`` of one run.
        pairs (Sequence[tuple]): the (task_a, task_b) columns.
        args (argparse.Namespace): bandwidth, permutations, seed,
            max_samples.

    Returns:
        list[str]: one cell per pair and the mean.
    """
    rng = np.random.default_rng(args.seed)
    num = len(next(iter(latents.values())))
    keep = np.arange(num)
    if args.max_samples and num > args.max_samples:
        keep = np.sort(rng.choice(num, args.max_samples, replace=False))
    cells, values = [], []
    for a, b in pairs:
        if a not in latents or b not in latents or len(keep) < 2:
            cells.append(MISSING)
            continue
        x, y = latents[a][keep], latents[b][keep]
        if args.permutations > 0:
            value, p_value = mmd_permutation_test(
                x, y, args.bandwidth, args.permutations, args.seed)
            cells.append(f'{value:.4f} (p={p_value:.3f})')
        else:
            value = mmd2_unbiased(x, y, args.bandwidth)
            cells.append(f'{value:.4f}')
        values.append(value)
    cells.append(f'{np.mean(values):.4f}' if values else MISSING)
    return cells


def mmd_tables(paths: Sequence[str], labels: Optional[Sequence[str]],
               args: argparse.Namespace) -> str:
    """Markdown tables of pairwise-task MMD, overall and per domain.

    Args:
        paths (Sequence[str]): latents files, one per run.
        labels (Sequence[str], optional): row labels.
        args (argparse.Namespace): see :func:`run_row`; also ``prefix``.

    Returns:
        str: the tables.
    """
    labels = run_labels(paths, labels)
    runs = [load_latents(p, args.prefix) for p in paths]
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
            rows.append([label] + run_row(latents, pairs, args))
        title = 'all samples' if domain is None else f'domain {domain}'
        # A blank line before the table: markdown renders it as a table
        # only when it does not continue the title's paragraph.
        out.append(f'MMD² between task latents ({args.prefix}), '
                   f'{title}:\n\n' + markdown_table(header, rows))
    return '\n\n'.join(out)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Pairwise-task MMD of task latents per run')
    parser.add_argument('latents', nargs='+', help='latents .npz files')
    parser.add_argument('--labels', nargs='+',
                        help='one row label per file (default: file name)')
    parser.add_argument('--prefix', default='z', choices=['z', 'h'],
                        help='z: surrogate latents, h: their inputs h\'')
    parser.add_argument(
        '--bandwidth', type=float, nargs='+',
        help='RBF sigma(s); several give a summed multi-kernel MMD '
        '(default: median heuristic over the pooled pair)')
    parser.add_argument('--max-samples', type=int, default=1000,
                        help='random samples per run (0: all)')
    parser.add_argument('--permutations', type=int, default=0,
                        help='permutation-test p-values with this many '
                        'permutations (0: none)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the tables here')
    parser.add_argument('--readme', help='markdown file whose section '
                        '--section gets the tables (e.g. README.md)')
    parser.add_argument('--section', help='name in the file\'s "<!-- BEGIN '
                        'results:NAME -->" / "<!-- END results:NAME -->"')
    parser.add_argument('--caption', help='a line written above the tables '
                        '(with --out / --readme)')
    args = parser.parse_args()
    if (args.readme is None) != (args.section is None):
        parser.error('--readme and --section go together')
    return args


def main() -> None:
    args = parse_args()
    try:
        tables = mmd_tables(args.latents, args.labels, args)
        print(tables)
        text = f'{args.caption}\n\n{tables}' if args.caption else tables
        if args.readme:
            replace_section(args.readme, args.section, text)
            print(f'wrote section {args.section} of {args.readme}')
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
