"""Smoke run of tools/benchmarks/methods.py (UniAD-tiny baseline, NexusFlow,
MTPSL, JTR) on the synthetic set: one row per method with ratios to the
baseline, and the two goals run_all.py reports."""
import pytest
import torch

pytestmark = pytest.mark.slow  # subprocesses / training runs


def test_methods_benchmark_returns_a_row_per_method(synthetic_nuscenes_infos,
                                                    load_tool, capsys):
    bench = load_tool('benchmarks/methods.py')
    threads = torch.get_num_threads()
    try:
        result = bench.main(['--data-root', synthetic_nuscenes_infos['root'],
                             '--warmup', '0', '--steps', '1'])
    finally:
        torch.set_num_threads(threads)
    rows = result['rows']
    assert set(rows) == {'baseline', 'nexusflow', 'mtpsl', 'jtr'}
    base = rows['baseline']
    assert base['best_ratio'] == base['memory_ratio'] == 1.0
    # Each method adds modules to the same host.
    assert all(rows[k]['params'] > base['params']
               for k in ('nexusflow', 'mtpsl', 'jtr'))
    assert rows['mtpsl']['mtpsl_ratio'] == 1.0
    assert all(row['best_ms'] > 0 and row['memory_mib'] > 0
               for row in rows.values())
    goals = {r['name']: (r['value'], r['goal']) for r in result['ratios']}
    assert goals['NexusFlow / baseline step time ratio (best)'] == (
        rows['nexusflow']['best_ratio'], 1.05)
    assert goals['NexusFlow / MTPSL peak memory ratio'] == (
        rows['nexusflow']['mtpsl_ratio'], 0.5)
    # The printed table is still there for a person.
    assert '(goal <= 0.5)' in capsys.readouterr().out


def test_methods_benchmark_rejects_bad_grid(capsys, load_tool):
    bench = load_tool('benchmarks/methods.py')
    with pytest.raises(SystemExit):
        bench.parse_args(['--grid', '50'])
    assert 'multiple of 8' in capsys.readouterr().err
