"""One table of the metrics of several runs, side by side.

For each work dir the metrics come from ``WORK_DIR/metrics.json`` (written
by ``tools/test.py``) when present, else from the last validation line of
the newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (written while
training). Columns: Δm first when a run has one (dense runs), then the
overall metrics, then the per-domain metrics of nuScenes runs
(``tracking/<domain>/...``, ``map/<domain>/...``) grouped by domain.

``--columns`` (or a ``--preset``) picks and orders the columns instead:
``paper`` is the paper's UniAD table (AMOTA, IDS, lanes IoU, crossing IoU;
IoUs in percent like the paper), overall and then for Boston and
Singapore; ``dense`` is Δm and the NYUv2 metrics. ``--delta-m-reference``
computes Δm of every run against another run (e.g. the STL one), for
dense runs whose evaluator has no reference of its own. ``--readme
README.md --section NAME`` writes the table between the README's
``<!-- BEGIN results:NAME -->`` / ``<!-- END results:NAME -->`` markers.

Example:
    python tools/analysis/summarize.py work_dirs/baseline work_dirs/nexusflow \
        --labels Baseline NexusFlow --out results.md --csv results.csv
    python tools/analysis/summarize.py work_dirs/compare_tiny/uniad/* \
        --preset paper --readme README.md --section uniad-tiny
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow

import_nexusflow()
from _report_cli import add_readme_args, parse_report_args, report

from nexusflow.analysis import (PRESETS, format_table, select_columns,
                                summarize, write_csv)
from nexusflow.analysis.tables import DELTA_M_METRICS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Metrics of several runs side by side')
    parser.add_argument('work_dirs', nargs='+', help='mmengine work dirs')
    parser.add_argument('--labels', nargs='+',
                        help='one row label per work dir')
    parser.add_argument('--out', help='also write the markdown table here')
    parser.add_argument('--csv', help='also write a CSV table here')
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument('--preset', choices=sorted(PRESETS),
                        help='column set: paper (UniAD: AMOTA, IDS, lanes '
                        'and crossing IoU in %%, overall + per city) or '
                        'dense (Δm + NYUv2 metrics)')
    choice.add_argument('--columns', nargs='+', metavar='KEY[=HEADER]',
                        help='metric names to show, in order')
    parser.add_argument('--delta-m-reference', metavar='WORK_DIR',
                        help='compute Δm of every run against this run '
                        f'(over {", ".join(DELTA_M_METRICS)})')
    add_readme_args(parser, 'table')
    return parse_report_args(parser)


def main() -> None:
    args = parse_args()
    try:
        columns = select_columns(args.preset, args.columns)
        header, rows = summarize(args.work_dirs, args.labels, columns,
                                 args.delta_m_reference)
    except (ValueError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    report(format_table(header, rows, columns), args)
    if args.csv:
        write_csv(args.csv, header, rows)


if __name__ == '__main__':
    main()
