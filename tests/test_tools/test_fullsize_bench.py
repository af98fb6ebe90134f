"""tools/benchmarks/fullsize.py: the ratios it derives from its runs, and the
whole script (one process per run, results back as JSON) on the ``_tiny``
twins of the configs."""
import math

import pytest

RUN = dict(device='cpu', losses={'loss': 2.0, 'loss_map_dice': 0.5},
           grad_norm=4.0)


def runs():
    return {
        'baseline fp32': dict(RUN, seconds=100.0, peak_bytes=10e9),
        'nexusflow fp32': dict(RUN, seconds=101.0, peak_bytes=10.1e9),
        'mtpsl fp32': dict(RUN, seconds=130.0, peak_bytes=25e9),
        'jtr fp32': dict(RUN, seconds=120.0, peak_bytes=12e9),
        'nexusflow cp': dict(RUN, seconds=120.0, peak_bytes=6e9,
                             grad_norm=4.00002),
        'nexusflow amp': dict(RUN, seconds=90.0, peak_bytes=8e9),
        'nexusflow amp+cp': dict(RUN, seconds=110.0, peak_bytes=5e9),
    }


def test_ratios_and_goals(load_tool, capsys):
    bench = load_tool('benchmarks/fullsize.py')
    args = bench.parse_args(['--frames', '5'])
    ratios = {r['name']: r for r in bench.report(runs(), args)}
    assert ratios['NexusFlow / baseline step time']['value'] == \
        pytest.approx(1.01)
    assert ratios['NexusFlow / baseline step time']['goal'] == 1.02
    assert ratios['NexusFlow / baseline peak memory']['value'] == \
        pytest.approx(1.01)
    assert ratios['NexusFlow / MTPSL peak memory']['value'] == \
        pytest.approx(10.1 / 25)
    uniad = ratios['NexusFlow amp+cp peak memory / UniAD stage 1 (50 GB)']
    assert uniad['value'] == pytest.approx(0.1) and uniad['goal'] == 0.6
    equal = ratios['fp32 vs fp32 + checkpointing: max difference (losses, '
                   'relative grad norm)']
    assert equal['value'] == pytest.approx(5e-6) and equal['goal'] == 1e-5
    added = ratios['NexusFlow / MTPSL peak memory added over the baseline']
    assert added['value'] == pytest.approx(0.1 / 15) and added['goal'] is None
    assert {r['section'] for r in ratios.values()} == {'5-frame clip, cpu'}
    out = capsys.readouterr().out
    assert 'NexusFlow / MTPSL peak memory: 0.404 (goal <= 0.5: met)' in out


def test_checkpointed_comparison(load_tool):
    bench = load_tool('benchmarks/fullsize.py')
    results = {'baseline cp': dict(RUN, seconds=200.0, peak_bytes=6e9),
               'nexusflow cp': dict(RUN, seconds=203.0, peak_bytes=6e9),
               'nexusflow fp32': dict(RUN, seconds=150.0, peak_bytes=9e9)}
    args = bench.parse_args(['--base', 'cp'])
    ratios = {r['name']: r for r in bench.report(results, args)}
    assert ratios['NexusFlow / baseline step time']['value'] == \
        pytest.approx(1.015)
    assert ratios['NexusFlow / baseline peak memory']['value'] == 1.0
    assert ratios['NexusFlow cp / fp32 peak memory']['value'] == \
        pytest.approx(6 / 9)
    assert {r['section'] for r in ratios.values()} == {
        '5-frame clip, cpu, encoder checkpointing'}


def test_a_failed_run_drops_only_its_ratios(load_tool, capsys):
    bench = load_tool('benchmarks/fullsize.py')
    results = runs()
    results['mtpsl fp32'] = dict(error='exit code 1: did not fit')
    names = [r['name'] for r in bench.report(
        results, bench.parse_args(['--quick']))]
    assert 'NexusFlow / MTPSL peak memory' not in names
    assert 'NexusFlow / baseline peak memory' in names
    assert 'mtpsl fp32             FAILED exit code 1: did not fit' in \
        capsys.readouterr().out


def test_difference_sees_a_changed_loss(load_tool):
    bench = load_tool('benchmarks/fullsize.py')
    other = dict(RUN, losses={'loss': 2.001, 'loss_map_dice': 0.5})
    assert bench.difference(RUN, other) == pytest.approx(1e-3)
    missing = dict(RUN, losses={'loss': 2.0})
    assert bench.difference(RUN, missing) == math.inf


def test_missing_infos_is_one_error_line(load_tool, tmp_path):
    bench = load_tool('benchmarks/fullsize.py')
    with pytest.raises(SystemExit) as exit_info:
        bench.main(['--data-root', str(tmp_path), '--methods', 'baseline'])
    message = str(exit_info.value.code)
    assert message.startswith(f'error: --data-root {tmp_path} has no '
                              f'nuscenes_trackmap_infos_train.pkl')


@pytest.mark.slow
def test_whole_script_on_the_tiny_twins(load_tool, synthetic_nuscenes_infos):
    bench = load_tool('benchmarks/fullsize.py')
    result = bench.main(['--tiny', '--frames', '2', '--threads', '1',
                         '--methods', 'baseline', 'nexusflow', '--variants',
                         'fp32', 'cp', '--data-root',
                         synthetic_nuscenes_infos['root']])
    assert set(result['runs']) == {'baseline fp32', 'nexusflow fp32',
                                   'nexusflow cp'}
    for name, run in result['runs'].items():
        assert 'error' not in run, (name, run)
        assert run['seconds'] > 0 and run['peak_bytes'] > 0
    assert 'loss_align' in result['runs']['nexusflow fp32']['losses']
    assert 'loss_align' not in result['runs']['baseline fp32']['losses']
    ratios = {r['name']: r['value'] for r in result['ratios']}
    assert len(ratios) == 5
    # Checkpointing recomputes, it does not change the step.
    assert ratios['fp32 vs fp32 + checkpointing: max difference (losses, '
                  'relative grad norm)'] <= 1e-5
