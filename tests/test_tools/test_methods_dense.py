"""Smoke run of tools/benchmarks/methods_dense.py at the tiniest settings:
a row per method and number of tasks with time and memory ratios to MTL,
the growth rows, and lines that run_all.py collects."""
import importlib.util
import os.path as osp
import re
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(REPO, 'tools', 'benchmarks')
METHODS = ('mtl', 'mtpsl', 'jtr', 'ctal-ss', 'nexusflow')
TINY = ['--size', '16', '16', '--channels', '8', '16', '--batch', '1',
        '--warmup', '1', '--steps', '1']
ROW = re.compile(r'^\s+(\S+)\s+step\s+[\d.]+ ms\s+time ratio\s+([\d.]+)\s+'
                 r'peak\s+[\d.]+ MiB\s+memory ratio\s+([\d.]+)')
GROWTH = re.compile(r'^\s+(\S+)\s+time ratio\s+([\d.]+)\s+memory ratio\s+'
                    r'([\d.]+)')


def load(name: str):
    for folder in (osp.join(REPO, 'tools'), BENCH):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(
        name, osp.join(BENCH, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def output() -> str:
    """Stdout of one tiny run (threads restored afterwards)."""
    import contextlib
    import io
    bench = load('methods_dense')
    threads = torch.get_num_threads()
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            bench.main(TINY + ['--device', 'cpu'])
    finally:
        torch.set_num_threads(threads)
    return buffer.getvalue()


def sections(text: str) -> dict:
    """``{heading: [lines]}`` of the ``--`` sections."""
    out, current = {}, None
    for line in text.splitlines():
        if line.startswith('--'):
            current = line
            out[current] = []
        elif current is not None and line.startswith('   '):
            out[current].append(line)
    return out


def test_rows_per_method_and_number_of_tasks(output):
    parts = sections(output)
    headings = list(parts)
    assert headings[0].startswith('-- 2 tasks (semantic, depth)')
    assert headings[1].startswith('-- 3 tasks (semantic, depth, normal)')
    assert headings[2].startswith('-- growth from 2 to 3 tasks')
    ratios = {}
    for heading, tasks in zip(headings[:2], (2, 3)):
        rows = [ROW.match(line) for line in parts[heading]]
        assert all(rows), parts[heading]
        assert [r.group(1) for r in rows] == list(METHODS)
        for row in rows:
            ratios[row.group(1), tasks] = (float(row.group(2)),
                                           float(row.group(3)))
        assert ratios['mtl', tasks] == (1.0, 1.0)
        assert all(t > 0 and m > 0 for t, m in ratios.values())
    growth = {m.group(1): float(m.group(3)) for m in map(
        GROWTH.match, parts[headings[2]])}
    assert set(growth) == set(METHODS)
    # MTPSL maps n (n - 1) task pairs per fully labeled sample (2 -> 6):
    # its memory grows faster than MTL's.
    assert growth['mtpsl'] > growth['mtl']


def test_run_all_collects_every_row(output):
    lines = load('run_all').ratio_lines(output)
    rows = [line for line in lines if not line.startswith('--')]
    assert len(rows) == 3 * len(METHODS)


@pytest.mark.parametrize('argv, match', [
    (['--size', '18', '16', '--channels', '8', '16'], 'multiples of 4'),
    (['--methods', 'mtl', 'pcgrad'], 'pcgrad'),
    (['--warmup', '0'], 'warm-up'),
])
def test_bad_settings_exit_with_one_line(argv, match):
    bench = load('methods_dense')
    with pytest.raises(SystemExit, match=match):
        bench.check_args(bench.parse_args(argv))
