"""Tables of several runs side by side: the metrics of their work dirs.

For each work dir the metrics come from ``WORK_DIR/metrics.json`` (written
by ``tools/test.py``) when present, else from the last validation line of
the newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (written while
training). By default the columns are Δm first when a run has one (dense
runs), then the overall metrics, then the per-domain metrics of nuScenes
runs (``tracking/<domain>/...``, ``map/<domain>/...``) grouped by domain.
A preset (``paper``: the paper's UniAD table; ``dense``: Δm and the NYUv2
metrics) or explicit columns pick and order them instead.
"""
import csv
import glob
import json
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..evaluation import delta_m

# Logged next to the metrics but not metrics themselves.
NOT_METRICS = {'step', 'time', 'data_time', 'epoch', 'iter', 'memory', 'lr'}
DOMAIN_TASKS = ('tracking', 'map')
# What a computed Δm (--delta-m-reference) is stored under.
DELTA_M = 'delta_m'
# The per-task metrics of the NYUv2 onelabel reference in
# configs/_base_/datasets/nyuv2.py (stl_reference), one per task.
DELTA_M_METRICS = ('miou', 'abs_err', 'mean_angle')
# Metrics whose lower value is better, marked with an arrow in presets.
LOWER_BETTER = ('ids', 'abs_err', 'rel_err', 'mean_angle', 'median_angle')


def run_labels(paths: Sequence[str],
               labels: Optional[Sequence[str]]) -> List[str]:
    """Row labels of the runs: ``labels`` or the file names.

    Args:
        paths (Sequence[str]): one file (or folder) per run.
        labels (Sequence[str], optional): one label per path.

    Returns:
        list[str]: the labels.
    """
    if labels is None:
        return [osp.splitext(osp.basename(osp.normpath(p)))[0]
                for p in paths]
    if len(labels) != len(paths):
        raise ValueError(f'--labels: expected {len(paths)} labels (one per '
                         f'input), got {len(labels)}')
    return list(labels)


def markdown_table(header: Sequence[str],
                   rows: Sequence[Sequence[str]]) -> str:
    """Formats a markdown table.

    Args:
        header (Sequence[str]): the column names.
        rows (Sequence[Sequence[str]]): the cells, already formatted.

    Returns:
        str: the table, one line per row.
    """
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


class Column(NamedTuple):
    """One column of a table.

    Attributes:
        key (str): metric name in metrics.json (``tracking/amota``).
        header (str): column title.
        scale (float): multiplier of the value (100 for percent).
        digits (int | None): decimals; None for the default format.
    """
    key: str
    header: str
    scale: float = 1.0
    digits: Optional[int] = None


def _paper_columns() -> List[Column]:
    """The paper's UniAD table, overall then per city."""
    columns = []
    for prefix, city in (('', ''), ('boston/', 'Boston '),
                         ('singapore/', 'Singapore ')):
        columns += [
            Column(f'tracking/{prefix}amota', f'{city}AMOTA ↑', 1.0, 3),
            Column(f'tracking/{prefix}ids', f'{city}IDS ↓', 1.0, 0),
            Column(f'map/{prefix}iou_lanes', f'{city}lanes IoU ↑', 100.0, 1),
            Column(f'map/{prefix}iou_crossing', f'{city}crossing IoU ↑',
                   100.0, 1)
        ]
    return columns


def _dense_columns() -> List[Column]:
    """Δm (%) and the NYUv2 metrics with their directions."""
    columns = [Column(DELTA_M, 'Δm (%) ↑', 1.0, 2)]
    for name, header in (('miou', 'mIoU'), ('pix_acc', 'pix acc'),
                         ('abs_err', 'abs err'), ('rel_err', 'rel err'),
                         ('mean_angle', 'mean angle'),
                         ('median_angle', 'median angle')):
        arrow = '↓' if name in LOWER_BETTER else '↑'
        columns.append(Column(f'dense/{name}', f'{header} {arrow}', 1.0,
                              2 if name in ('abs_err', 'rel_err') else 1))
    return columns


PRESETS = dict(paper=_paper_columns, dense=_dense_columns)


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


def short_metrics(metrics: Dict[str, float]) -> Dict[str, float]:
    """``{'miou': ...}`` for ``{'dense/miou': ...}`` (last name part)."""
    return {k.rsplit('/', 1)[-1]: v for k, v in metrics.items()}


def add_delta_m(runs: Sequence[Dict[str, float]], reference_dir: str,
                names: Sequence[str] = DELTA_M_METRICS) -> None:
    """Adds ``delta_m`` of every run against the run in ``reference_dir``.

    Args:
        runs (Sequence[dict]): the metrics of every run; edited in place.
        reference_dir (str): work dir of the reference (STL) run.
        names (Sequence[str]): the metrics Δm averages over (last part
            of the name, e.g. ``miou``).
    """
    reference = short_metrics(load_metrics(reference_dir))
    missing = [n for n in names if n not in reference]
    if missing:
        raise ValueError(f'--delta-m-reference {reference_dir}: its metrics '
                         f'lack {missing} (has {sorted(reference)})')
    for metrics in runs:
        values = short_metrics(metrics)
        if all(n in values for n in names):
            metrics[DELTA_M] = delta_m(values,
                                       {n: reference[n] for n in names})


def parse_columns(specs: Sequence[str]) -> List[Column]:
    """Columns from ``KEY`` or ``KEY=HEADER`` strings.

    Args:
        specs (Sequence[str]): the ``--columns`` values.

    Returns:
        list[Column]: the columns, default format.
    """
    columns = []
    for spec in specs:
        key, _, header = spec.partition('=')
        if not key:
            raise ValueError(f'--columns: empty metric name in {spec!r}')
        columns.append(Column(key, header or key))
    return columns


def select_columns(preset: Optional[str] = None,
                   specs: Optional[Sequence[str]] = None
                   ) -> Optional[List[Column]]:
    """The columns of a preset or of ``KEY[=HEADER]`` specs.

    Args:
        preset (str, optional): a key of :data:`PRESETS`.
        specs (Sequence[str], optional): ``--columns`` values.

    Returns:
        list[Column] | None: the columns; None (every metric) when neither
        is given.
    """
    if preset:
        return PRESETS[preset]()
    return parse_columns(specs) if specs else None


def summarize(work_dirs: Sequence[str],
              labels: Optional[Sequence[str]] = None,
              columns: Optional[Sequence[Column]] = None,
              delta_m_reference: Optional[str] = None
              ) -> Tuple[List[str], List[list]]:
    """The metrics of several runs as table rows.

    Args:
        work_dirs (Sequence[str]): mmengine work dirs.
        labels (Sequence[str], optional): row labels (default: the dir
            names).
        columns (Sequence[Column], optional): the columns to show, in
            order; values are scaled by their ``scale``. Default: every
            metric, ordered by :func:`order_columns`.
        delta_m_reference (str, optional): work dir of the run Δm is
            computed against (adds ``delta_m`` to every run).

    Returns:
        tuple[list[str], list[list]]: the header and one row per run
        (label, then the values; None where a run lacks a metric).
    """
    labels = run_labels(work_dirs, labels)
    runs = [load_metrics(d) for d in work_dirs]
    if delta_m_reference is not None:
        add_delta_m(runs, delta_m_reference)
    if columns is None:
        keys = order_columns(runs)
        columns = [Column(k, 'Δm' if k.split('/')[-1] == DELTA_M else k)
                   for k in keys]
    else:
        known = {k for metrics in runs for k in metrics}
        unknown = [c.key for c in columns if c.key not in known]
        if len(unknown) == len(columns):
            raise ValueError(f'none of the columns {unknown} is a metric of '
                             f'{list(work_dirs)} (they have '
                             f'{sorted(known)[:12]}...)')
    rows = []
    for label, metrics in zip(labels, runs):
        row = [label]
        for column in columns:
            value = metrics.get(column.key)
            row.append(None if value is None else value * column.scale)
        rows.append(row)
    return ['run'] + [c.header for c in columns], rows


def format_row(row: Sequence[object],
               columns: Optional[Sequence[Column]] = None) -> List[str]:
    """The cells of one row: the label, then formatted values.

    Args:
        row (Sequence): label and values, as :func:`summarize` gives.
        columns (Sequence[Column], optional): their formats (default: 4
            decimals).

    Returns:
        list[str]: the cells.
    """
    cells = [str(row[0])]
    for index, value in enumerate(row[1:]):
        digits = columns[index].digits if columns else None
        if value is None or digits is None:
            cells.append(format_cell(value))
        else:
            cells.append(f'{value:.{digits}f}')
    return cells


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]],
                 columns: Optional[Sequence[Column]] = None) -> str:
    """:func:`summarize`'s header and rows as a markdown table.

    Args:
        header (Sequence[str]): the column titles.
        rows (Sequence[Sequence]): label and values per run.
        columns (Sequence[Column], optional): the value formats.

    Returns:
        str: the table.
    """
    return markdown_table(header, [format_row(row, columns) for row in rows])


def format_cell(value: object) -> str:
    """A table cell: 4 decimals for floats, '–' for a missing value."""
    if value is None:
        return '–'
    if isinstance(value, float):
        return f'{value:.4f}'
    return str(value)


def write_csv(path: str, header: Sequence[str],
              rows: Sequence[Sequence[object]]) -> None:
    """Writes :func:`summarize`'s table as CSV (missing values empty).

    Args:
        path (str): the CSV file.
        header (Sequence[str]): the column titles.
        rows (Sequence[Sequence]): label and values per run.
    """
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([['' if v is None else v for v in row]
                          for row in rows])
