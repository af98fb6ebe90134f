"""Smoke run of tools/benchmarks/methods.py (UniAD-tiny baseline, NexusFlow,
MTPSL, JTR) on the synthetic set: one row per method with ratios to the
baseline, and the two goal lines run_all.py collects."""
import contextlib
import importlib.util
import io
import os.path as osp
import re
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCH = osp.join(REPO, 'tools', 'benchmarks')
ROW = re.compile(r'^(baseline|nexusflow|mtpsl|jtr)\s+([\d,]+)\s+([\d.]+)\s+'
                 r'([\d.]+)\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s+([\d.]+)\s+'
                 r'([\d.]+)$')


def load_bench():
    for folder in (osp.join(REPO, 'tools'), BENCH):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(
        'methods_bench', osp.join(BENCH, 'methods.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_methods_benchmark_prints_a_row_per_method(synthetic_nuscenes_infos,
                                                   monkeypatch):
    bench = load_bench()
    root = synthetic_nuscenes_infos['root']
    threads = torch.get_num_threads()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            bench.main(['--data-root', root, '--warmup', '0', '--steps',
                        '1'])
    finally:
        torch.set_num_threads(threads)
    text = out.getvalue()
    rows = {m.group(1): m for m in map(ROW.match, text.splitlines()) if m}
    assert set(rows) == {'baseline', 'nexusflow', 'mtpsl', 'jtr'}, text
    base = rows['baseline']
    assert float(base.group(4)) == 1.0 and float(base.group(6)) == 1.0
    params = {k: int(m.group(2).replace(',', '')) for k, m in rows.items()}
    # Each method adds modules to the same host.
    assert all(params[k] > params['baseline']
               for k in ('nexusflow', 'mtpsl', 'jtr'))
    assert float(rows['mtpsl'].group(7)) == 1.0
    assert 'step time ratio' in text and '(goal <= 1.05)' in text
    assert 'peak memory ratio' in text and '(goal <= 0.5)' in text


def test_methods_benchmark_rejects_bad_grid(capsys):
    bench = load_bench()
    with pytest.raises(SystemExit):
        bench.parse_args(['--grid', '50'])
    assert 'multiple of 8' in capsys.readouterr().err
