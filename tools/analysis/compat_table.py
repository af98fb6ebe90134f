"""Which stock mmdet3d nuScenes configs take the drop-in NexusFlowHook.

For each config of ``nexusflow.analysis.compat.STOCK_CONFIGS`` (the one
list), builds its shrunk twin on a (synthetic) nuScenes root, drops the hook
in (class-group tasks, vehicles labeled in Boston, vulnerable road users in
Singapore) and trains a few iterations on CPU; prints the table (config, how
tasks are separated, status with time or the error) and writes it where
``--out`` / ``--readme`` say. Exits with 1 when a config's status is not the
expected one (runs, or its listed CPU error).

Example:
    python tools/create_synthetic_nuscenes.py --out data/synthetic_nuscenes
    python tools/create_data.py nuscenes --root data/synthetic_nuscenes \
        --version v1.0-mini --out data/synthetic_nuscenes
    python tools/analysis/compat_table.py data/synthetic_nuscenes \
        --readme README.md --section compat
"""
import argparse
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow

import_nexusflow()
from _report_cli import add_readme_args, parse_report_args, report

from nexusflow.analysis.compat import (ITERS, STOCK_CONFIGS, check_config,
                                       compat_markdown, stock_config)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='nuScenes root with the stock '
                        'infos (nuscenes_infos_train.pkl, dbinfos)')
    parser.add_argument('--configs', nargs='+', metavar='NAME',
                        help='only these (file names without .py); default '
                        'all of STOCK_CONFIGS')
    parser.add_argument('--iters', type=int, default=ITERS,
                        help=f'training iterations (default {ITERS})')
    parser.add_argument('--work-dir', help='where the runs log (default a '
                        'temporary directory)')
    parser.add_argument('--out', help='also write the table to this file')
    add_readme_args(parser, 'table')
    return parse_report_args(parser)


def main() -> None:
    args = parse_args()
    if not osp.isfile(osp.join(args.data_root, 'nuscenes_infos_train.pkl')):
        sys.exit(f'error: {args.data_root} has no nuscenes_infos_train.pkl; '
                 f'run tools/create_data.py nuscenes on it first')
    try:
        entries = [stock_config(n) for n in args.configs] \
            if args.configs else STOCK_CONFIGS
    except KeyError as err:
        sys.exit(f'error: {err.args[0]}')
    work_root = args.work_dir or tempfile.mkdtemp(prefix='compat_')
    results = []
    for entry in entries:
        result = check_config(entry, args.data_root,
                              osp.join(work_root, entry.name), args.iters)
        print(f'{entry.name}: {result.status} in {result.seconds:.1f} s'
              f'{" " + result.error if result.error else ""}', flush=True)
        results.append(result)
    report(compat_markdown(results), args)
    unexpected = [r.entry.name for r in results if not r.expected]
    if unexpected:
        sys.exit(f'error: unexpected status of {unexpected}')


if __name__ == '__main__':
    main()
