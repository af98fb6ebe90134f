"""One table of the metrics of several runs, side by side.

For each work dir the metrics come from ``WORK_DIR/metrics.json`` (written
by ``tools/test.py``) when present, else from the last validation line of
the newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (written while
training). Columns: Δm first when a run has one (dense runs), then the
overall metrics, then the per-domain metrics of nuScenes runs
(``tracking/<domain>/...``, ``map/<domain>/...``) grouped by domain.

Example:
    python tools/analysis/summarize.py work_dirs/baseline work_dirs/nexusflow \
        --labels Baseline NexusFlow --out results.md --csv results.csv
"""
import argparse
import csv
import glob
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from latents_io import markdown_table, run_labels  # noqa: E402

# Logged next to the metrics but not metrics themselves.
NOT_METRICS = {'step', 'time', 'data_time', 'epoch', 'iter', 'memory', 'lr'}
DOMAIN_TASKS = ('tracking', 'map')


def last_val_scalars(work_dir: str) -> Dict[str, float]:
    """The last validation line of the newest ``scalars.json``.

    Train lines carry the loss and learning rate; validation lines do not.

    Args:
        work_dir (str): an mmengine work dir.

    Returns:
        dict[str, float]: the logged values of that line.
    """
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir}: has neither metrics.json nor '
            f'<timestamp>/vis_data/scalars.json')
    # Newest run first; a resumed run may have logged no validation yet.
    for path in reversed(files):
        last = None
        with open(path) as f:
            for num, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{path}: line {num} is not JSON '
                                     f'({err.msg})') from None
                if 'lr' not in record and not any(
                        k == 'loss' or k.startswith('loss_') for k in record):
                    last = record
        if last is not None:
            return last
    raise ValueError(f'{work_dir}: no validation line in {files}')


def load_metrics(work_dir: str) -> Dict[str, float]:
    """Metrics of one run, from metrics.json or else scalars.json.

    Args:
        work_dir (str): an mmengine work dir.

    Returns:
        dict[str, float]: metric name -> value.
    """
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir {work_dir} does not exist')
    path = osp.join(work_dir, 'metrics.json')
    if osp.isfile(path):
        try:
            with open(path) as f:
                record = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path}: not valid JSON ({err.msg})') from None
        if not isinstance(record, dict):
            raise ValueError(f'{path}: expected a JSON object of metrics')
    else:
        record = last_val_scalars(work_dir)
    return {k: v for k, v in record.items()
            if k not in NOT_METRICS and isinstance(v, (int, float))}


def domain_of(key: str) -> Optional[str]:
    """``'boston'`` for ``'tracking/boston/amota'``, else None."""
    parts = key.split('/')
    return parts[1] if len(parts) >= 3 and parts[0] in DOMAIN_TASKS \
        else None


def order_columns(runs: Sequence[Dict[str, float]]) -> List[str]:
    """Δm, overall metrics in first-seen order, then per domain.

    Args:
        runs (Sequence[dict]): the metrics of every run.

    Returns:
        list[str]: the metric names.
    """
    seen = []
    for metrics in runs:
        seen += [k for k in metrics if k not in seen]
    delta = [k for k in seen if k.split('/')[-1] == 'delta_m']
    overall = [k for k in seen if k not in delta and domain_of(k) is None]
    domains = sorted({domain_of(k) for k in seen} - {None})
    per_domain = [k for d in domains for k in seen if domain_of(k) == d]
    return delta + overall + per_domain


def summarize(work_dirs: Sequence[str],
              labels: Optional[Sequence[str]] = None
              ) -> Tuple[List[str], List[list]]:
    """The metrics of several runs as table rows.

    Args:
        work_dirs (Sequence[str]): mmengine work dirs.
        labels (Sequence[str], optional): row labels (default: the dir
            names).

    Returns:
        tuple[list[str], list[list]]: the header and one row per run
        (label, then the values; None where a run lacks a metric).
    """
    labels = run_labels(work_dirs, labels)
    runs = [load_metrics(d) for d in work_dirs]
    columns = order_columns(runs)
    rows = [[label] + [metrics.get(k) for k in columns]
            for label, metrics in zip(labels, runs)]
    header = ['run'] + ['Δm' if k.split('/')[-1] == 'delta_m' else k
                        for k in columns]
    return header, rows


def format_cell(value: object) -> str:
    """A table cell: 4 decimals for floats, '–' for a missing value."""
    if value is None:
        return '–'
    if isinstance(value, float):
        return f'{value:.4f}'
    return str(value)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Metrics of several runs side by side')
    parser.add_argument('work_dirs', nargs='+', help='mmengine work dirs')
    parser.add_argument('--labels', nargs='+',
                        help='one row label per work dir')
    parser.add_argument('--out', help='also write the markdown table here')
    parser.add_argument('--csv', help='also write a CSV table here')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        header, rows = summarize(args.work_dirs, args.labels)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    table = markdown_table(header,
                           [[format_cell(v) for v in row] for row in rows])
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
    if args.csv:
        with open(args.csv, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows([['' if v is None else v for v in row]
                              for row in rows])


if __name__ == '__main__':
    main()
