"""Smoke run of tools/benchmarks/methods_dense.py at the tiniest settings:
a row per method and number of tasks with time and memory ratios to MTL,
the growth rows, and the ratios run_all.py reports."""
import pytest
import torch

pytestmark = pytest.mark.slow  # subprocesses / training runs

METHODS = ('mtl', 'mtpsl', 'jtr', 'ctal-ss', 'nexusflow')
TINY = ['--size', '16', '16', '--channels', '8', '16', '--batch', '1',
        '--warmup', '1', '--steps', '1']


@pytest.fixture(scope='module')
def result(load_tool) -> dict:
    """What one tiny run returns (threads restored afterwards)."""
    bench = load_tool('benchmarks/methods_dense.py')
    threads = torch.get_num_threads()
    try:
        return bench.main(TINY + ['--device', 'cpu'])
    finally:
        torch.set_num_threads(threads)


def test_rows_per_method_and_number_of_tasks(result):
    rows = result['rows']
    assert [(len(r['tasks']), r['method']) for r in rows] == [
        (n, m) for n in (2, 3) for m in METHODS]
    assert rows[0]['tasks'] == ['semantic', 'depth']
    for row in rows:
        assert row['time_ratio'] > 0 and row['memory_ratio'] > 0
        if row['method'] == 'mtl':
            assert row['time_ratio'] == row['memory_ratio'] == 1.0
    growth = {row['method']: row for row in result['growth']}
    assert list(growth) == list(METHODS)
    # MTPSL maps n (n - 1) task pairs per fully labeled sample (2 -> 6):
    # its memory grows faster than MTL's.
    assert growth['mtpsl']['memory_ratio'] > growth['mtl']['memory_ratio']


def test_ratios_cover_every_row(result):
    ratios = result['ratios']
    # Time and memory per row, time, memory and params per growth row.
    assert len(ratios) == 2 * 2 * len(METHODS) + 3 * len(METHODS)
    # One goal: NexusFlow's step time over MTL's, per number of tasks.
    goals = [(r['name'], r['goal']) for r in ratios if r['goal'] is not None]
    assert goals == [('nexusflow time ratio', 1.05)] * 2
    assert ratios[0]['section'] == '2 tasks (semantic, depth), relative to MTL'
    assert ratios[0]['name'] == 'mtl time ratio'
    assert ratios[-1]['name'] == 'nexusflow params ratio'
    assert ratios[-1]['section'].startswith('growth from 2 to 3 tasks')


@pytest.mark.parametrize('argv, match', [
    (['--size', '18', '16', '--channels', '8', '16'], 'multiples of 4'),
    (['--methods', 'mtl', 'pcgrad'], 'pcgrad'),
    (['--warmup', '0'], 'warm-up'),
])
def test_bad_settings_exit_with_one_line(argv, match, load_tool):
    bench = load_tool('benchmarks/methods_dense.py')
    with pytest.raises(SystemExit, match=match):
        bench.check_args(bench.parse_args(argv))
