"""The small benchmarks return what they print: map_iou.py, overhead.py and
ctal_memory.py at tiny sizes, each with the ratios run_all.py reports."""
import pytest
import torch

pytestmark = pytest.mark.slow  # subprocesses / training runs


def run_bench(load_tool, path, argv):
    threads = torch.get_num_threads()
    try:
        return load_tool(path).main(argv)
    finally:
        torch.set_num_threads(threads)


def test_map_iou_returns_time_against_the_goal(load_tool):
    result = run_bench(load_tool, 'benchmarks/map_iou.py',
                       ['--samples', '6', '--size', '16', '--pool', '2',
                        '--batch', '4', '--goal', '100'])
    assert result['samples'] == 6 and 0 <= result['iou_lanes'] <= 1
    (entry, ) = result['ratios']
    assert entry['goal'] == 1.0
    assert entry['value'] == result['seconds'] / 100


def test_overhead_returns_both_parts(load_tool):
    result = run_bench(load_tool, 'benchmarks/overhead.py', [
        '--batch', '2', '--size', '16', '--channels', '4', '--warmup', '1',
        '--steps', '1', '--align-batch', '4', '--latent-dim', '8',
        '--tasks', '2', '4', '--repeats', '1'])
    assert set(result['train']) == {'one task mask per batch',
                                    'mixed task masks (2 groups)'}
    stats = result['train']['one task mask per batch']
    assert stats['memory']['ratio'] == (stats['memory']['nexusflow'] /
                                        stats['memory']['bare'])
    assert set(result['alignment']['centroid']) == {2, 4}
    goals = [(r['section'], r['name'], r['goal']) for r in result['ratios']]
    assert goals[0] == ('one task mask per batch', 'step time ratio (best)',
                        1.05)
    assert len(goals) == 2 * 3 + 2
    assert goals[-2][1:] == ('centroid growth ratio', 2.0)


def test_ctal_memory_returns_ratio_and_difference(load_tool):
    result = run_bench(load_tool, 'benchmarks/ctal_memory.py', [
        '--size', '6', '8', '--channels', '4',
        '--chunk-size', '8', '--modes', 'infer'])
    infer = result['modes']['infer']
    assert infer['max_abs_diff'] <= 1e-5 and infer['ratio'] > 0
    assert [(r['name'], r['goal']) for r in result['ratios']] == [
        ('efficient / naive peak memory ratio', 0.5), ('max abs diff', 1e-5)]
