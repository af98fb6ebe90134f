"""The tiny comparison's plan: its commands, skip logic and tables
(nothing is run here)."""
import os
import os.path as osp

from nexusflow.analysis import CompareSettings, build_plan, compare

SETTINGS = CompareSettings(
    work_dir='wd', iters=10, dense_epochs=2,
    uniad_runs=('baseline', 'nexusflow'), dense_runs=('stl', ),
    dense_root='data/nyu', probe_steps=7, readme='')


def test_plan_orders_trainings_before_latents():
    plan = build_plan(SETTINGS)
    titles = [s.title for s in plan['train']]
    assert titles == ['train uniad/baseline', 'test uniad/baseline',
                      'train uniad/nexusflow', 'test uniad/nexusflow',
                      'train dense/stl', 'test dense/stl']
    train_nf = plan['train'][2].argv
    # The demo's schedule overrides; the stage switch only where there
    # are two stages.
    assert 'train_cfg.max_iters=10' in train_nf
    assert 'custom_hooks.0.begin_iter=5' in train_nf
    assert not any('custom_hooks' in a for a in plan['train'][0].argv)
    assert 'train_cfg.max_epochs=2' in plan['train'][4].argv
    assert 'train_dataloader.dataset.data_root=data/nyu/' in \
        plan['train'][4].argv
    assert plan['train'][5].output == 'wd/dense/stl/metrics.json'
    assert plan['train'][5].inputs == ['wd/dense/stl/epoch_2.pth']
    latents = {s.title: s.argv for s in plan['latents']}
    probe = latents['latents uniad/baseline (probe)']
    assert probe[probe.index('--probe-config') + 1] == compare.UNIAD_PROBE
    assert probe[probe.index('--probe-steps') + 1] == '7'
    assert '--probe-config' not in latents['latents uniad/nexusflow']
    stl = latents['latents dense/stl (probe)']
    assert stl[stl.index('--probe-config') + 1] == compare.DENSE_PROBE
    assert '--max-samples' not in stl


def test_a_step_is_done_when_newer_than_its_inputs(tmp_path):
    step = compare.Step('t', [], 'out.txt', ['in.txt'])
    assert not compare.is_done(step, str(tmp_path))
    (tmp_path / 'in.txt').write_text('x')
    (tmp_path / 'out.txt').write_text('x')
    assert compare.is_done(step, str(tmp_path))
    os.utime(tmp_path / 'in.txt', (2e9, 2e9))
    assert not compare.is_done(step, str(tmp_path))


def test_table_commands_and_missing_data(tmp_path, monkeypatch):
    commands = compare.table_commands(SETTINGS)
    assert [c[0] for c in commands] == [
        'tools/analysis/summarize.py', 'tools/analysis/mmd.py',
        'tools/analysis/summarize.py', 'tools/analysis/mmd.py']
    # No README: no sections; Δm against the STL run.
    assert not any('--readme' in c for c in commands)
    assert commands[2][commands[2].index('--delta-m-reference') + 1] == \
        osp.join('wd', 'dense', 'stl')
    with_readme = compare.table_commands(CompareSettings(readme='README.md'))
    sections = [c[c.index('--section') + 1] for c in with_readme
                if '--section' in c]
    assert sections == ['uniad-tiny', 'uniad-tiny-mmd']

    monkeypatch.delenv('SYNTHETIC_NUSCENES', raising=False)
    steps = compare.data_steps(SETTINGS, str(tmp_path))
    assert [s.argv[0] for s in steps] == [
        'tools/create_synthetic_nuscenes.py', 'tools/create_data.py',
        'tools/create_synthetic_nyuv2.py']
    (tmp_path / 'data' / 'nyu' / 'val').mkdir(parents=True)
    assert len(compare.data_steps(SETTINGS, str(tmp_path))) == 2
