"""compare_tiny.py and the README writers: section replacement, the latents
probe on a tiny dense model, and the comparison's plan and skip logic on
already-finished fake work dirs (nothing is trained here)."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from test_analysis import REPO, load_tool, root_options, run_main

README = """# Title

text before
<!-- BEGIN results:uniad-tiny -->
(not produced yet)
<!-- END results:uniad-tiny -->

between
<!-- BEGIN results:other -->
keep me
<!-- END results:other -->
tail
"""
DENSE_MTL = 'configs/dense/nyuv2_segnet_mtl_onelabel_tiny.py'
DENSE_NEXUSFLOW = 'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py'


def write_metrics(folder, values):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'metrics.json').write_text(json.dumps(values))
    return str(folder)


def test_replace_section_changes_only_the_section(tmp_path):
    latents_io = load_tool('analysis_latents_io',
                           'tools/analysis/latents_io.py')
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    latents_io.replace_section(str(readme), 'uniad-tiny', '\n| a |\n\n')
    text = readme.read_text()
    begin = text.index('<!-- BEGIN results:uniad-tiny -->')
    end = text.index('<!-- END results:uniad-tiny -->')
    assert text[begin:end].splitlines()[1:] == ['| a |']
    # Everything outside the section is byte for byte the same.
    old_begin = README.index('<!-- BEGIN results:uniad-tiny -->')
    old_end = README.index('<!-- END results:uniad-tiny -->')
    assert text[:begin] == README[:old_begin]
    assert text[end:] == README[old_end:]
    # A second write replaces the first instead of appending.
    latents_io.replace_section(str(readme), 'uniad-tiny', '| b |')
    assert '| a |' not in readme.read_text()
    assert readme.read_text().count('| b |') == 1


def test_replace_section_names_a_missing_marker(tmp_path):
    latents_io = load_tool('analysis_latents_io',
                           'tools/analysis/latents_io.py')
    readme = tmp_path / 'README.md'
    readme.write_text(README.replace('<!-- END results:other -->\n', ''))
    with pytest.raises(ValueError, match=r'README.md: expected the marker '
                       r'"<!-- END results:other -->" once, found it 0'):
        latents_io.replace_section(str(readme), 'other', 'x')
    with pytest.raises(ValueError, match='results:nope'):
        latents_io.replace_section(str(readme), 'nope', 'x')
    assert readme.read_text() == README.replace(
        '<!-- END results:other -->\n', '')
    with pytest.raises(FileNotFoundError, match='missing.md'):
        latents_io.replace_section(str(tmp_path / 'missing.md'), 'x', 'y')


def test_summarize_paper_preset_into_readme(tmp_path, monkeypatch, capsys):
    summarize = load_tool('analysis_summarize', 'tools/analysis/summarize.py')
    metrics = {'tracking/amota': 0.25, 'tracking/ids': 3.0,
               'map/iou_lanes': 0.314, 'map/iou_crossing': 0.02,
               'map/boston/iou_lanes': 0.4, 'tracking/singapore/amota': 0.3,
               'tracking/amotp': 1.5}
    run = write_metrics(tmp_path / 'run', metrics)
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    run_main(summarize, monkeypatch, [
        run, '--labels', 'NexusFlow', '--preset', 'paper', '--readme',
        str(readme), '--section', 'uniad-tiny', '--caption', 'tiny runs'])
    text = readme.read_text()
    section = text[text.index('results:uniad-tiny -->'):
                   text.index('<!-- END results:uniad-tiny')]
    header = [c.strip() for c in section.splitlines()[3].strip('|')
              .split('|')]
    assert header[:5] == ['run', 'AMOTA ↑', 'IDS ↓', 'lanes IoU ↑',
                          'crossing IoU ↑']
    assert 'Boston lanes IoU ↑' in header and 'tracking/amotp' not in header
    row = [c.strip() for c in section.splitlines()[5].strip('|').split('|')]
    # IoUs in percent like the paper's table; missing values as '–'.
    assert row[:5] == ['NexusFlow', '0.250', '3', '31.4', '2.0']
    assert row[header.index('Boston lanes IoU ↑')] == '40.0'
    assert row[header.index('Boston AMOTA ↑')] == '–'
    assert 'tiny runs' in section and 'keep me' in text
    assert 'wrote section uniad-tiny' in capsys.readouterr().out


def test_summarize_delta_m_against_a_run(tmp_path):
    summarize = load_tool('analysis_summarize', 'tools/analysis/summarize.py')
    stl = write_metrics(tmp_path / 'stl', {
        'dense/miou': 20.0, 'dense/abs_err': 1.0, 'dense/mean_angle': 40.0})
    mtl = write_metrics(tmp_path / 'mtl', {
        'dense/miou': 22.0, 'dense/abs_err': 1.1, 'dense/mean_angle': 40.0})
    header, rows = summarize.summarize(
        [stl, mtl], ['STL', 'MTL'], summarize.PRESETS['dense'](), stl)
    assert header[1] == 'Δm (%) ↑'
    assert rows[0][1] == pytest.approx(0.0)
    # (+10 % mIoU - 10 % abs err + 0) / 3
    assert rows[1][1] == pytest.approx(0.0, abs=1e-9)
    mtl2 = write_metrics(tmp_path / 'mtl2', {
        'dense/miou': 23.0, 'dense/abs_err': 0.9, 'dense/mean_angle': 36.0})
    _, rows = summarize.summarize([mtl2], None, None, stl)
    assert rows[0][1] == pytest.approx(100 * (0.15 + 0.1 + 0.1) / 3)
    bad = write_metrics(tmp_path / 'bad', {'dense/miou': 1.0})
    with pytest.raises(ValueError, match=r"bad: its metrics lack "
                       r"\['abs_err', 'mean_angle'\]"):
        summarize.summarize([mtl], None, None, bad)
    with pytest.raises(ValueError, match='none of the columns'):
        summarize.summarize([mtl], None, summarize.parse_columns(['x=X']))


def test_mmd_writes_its_section(tmp_path, monkeypatch):
    mmd = load_tool('analysis_mmd', 'tools/analysis/mmd.py')
    rng = np.random.default_rng(0)
    path = tmp_path / 'run.npz'
    np.savez(path, z_track=rng.standard_normal((12, 4)),
             z_map=rng.standard_normal((12, 4)) + 3.0)
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    run_main(mmd, monkeypatch, [str(path), '--labels', 'Baseline',
                                '--readme', str(readme), '--section',
                                'other'])
    text = readme.read_text()
    assert 'keep me' not in text and '| Baseline |' in text
    assert text.index('| Baseline |') > text.index('results:other -->')
    assert '(not produced yet)' in text
    with pytest.raises(SystemExit, match='results:missing'):
        run_main(mmd, monkeypatch, [str(path), '--readme', str(readme),
                                    '--section', 'missing'])


@pytest.fixture(scope='module')
def nyu_root(tmp_path_factory):
    from nexusflow.testing import create_synthetic_nyuv2
    root = tmp_path_factory.mktemp('nyu_probe')
    return create_synthetic_nyuv2(str(root), 4, 2, (32, 48), seed=0)


def test_probe_fits_only_the_surrogates(nyu_root, tmp_path):
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mmdet3d.registry import MODELS
    from nexusflow.utils.launch import load_config
    collect = load_tool('analysis_collect',
                        'tools/analysis/collect_latents.py')
    init_default_scope('mmdet3d')
    options = dict(o.split('=') for o in root_options(nyu_root))
    host_cfg = load_config(osp.join(REPO, DENSE_MTL), options)
    probe_cfg = load_config(osp.join(REPO, DENSE_NEXUSFLOW))
    host = MODELS.build(host_cfg.model)
    ckpt = tmp_path / 'host.pth'
    torch.save({'state_dict': host.state_dict()}, ckpt)

    model_cfg, keys = collect.graft_surrogates(host_cfg.model,
                                               probe_cfg.model)
    assert keys == ['surrogates']
    model = MODELS.build(model_cfg)
    bank = collect.find_bank(model)
    collect.load_host(model, str(ckpt), bank)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loader = Runner.build_dataloader(host_cfg.train_dataloader, seed=0)
    losses = collect.fit_probe(model, loader, steps=3, lr=1e-2)
    assert len(losses) == 3 and all(np.isfinite(losses))
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith('surrogate_bank.') for k in changed)
    for key, value in host.state_dict().items():
        assert torch.equal(after[key], value), key
    assert not any(p.requires_grad for p in model.parameters())

    # A model that has surrogates of its own is not probed.
    with pytest.raises(ValueError, match='already has'):
        collect.graft_surrogates(probe_cfg.model, probe_cfg.model)
    # The host checkpoint must hold every host weight.
    partial = {k: v for k, v in host.state_dict().items()
               if not k.startswith('heads.')}
    torch.save({'state_dict': partial}, tmp_path / 'partial.pth')
    fresh = MODELS.build(model_cfg)
    with pytest.raises(ValueError, match=r'partial.pth: does not fit'):
        collect.load_host(fresh, str(tmp_path / 'partial.pth'),
                          collect.find_bank(fresh))


def make_finished(root, work_dir, group, run, checkpoint, latents=True):
    """A run folder whose steps look done: checkpoint, metrics, latents."""
    folder = osp.join(root, work_dir, group, run)
    os.makedirs(folder, exist_ok=True)
    for name in [checkpoint, 'metrics.json'] + (
            ['latents.npz'] if latents else []):
        with open(osp.join(folder, name), 'w') as f:
            f.write('x')
    return folder


def test_compare_plan_skips_finished_steps(tmp_path, monkeypatch, capsys):
    compare = load_tool('analysis_compare', 'tools/analysis/compare_tiny.py')
    monkeypatch.setattr(compare, 'ROOT', str(tmp_path))
    executed = []
    monkeypatch.setattr(compare, 'execute',
                        lambda step, number: executed.append(step.title))
    (tmp_path / 'data' / 'nyu' / 'val').mkdir(parents=True)
    nusc = tmp_path / compare.NUSC_ROOT
    nusc.mkdir(parents=True)
    (nusc / 'nuscenes_trackmap_infos_val.pkl').write_bytes(b'')
    argv = ['--work-dir', 'wd', '--iters', '10', '--dense-epochs', '2',
            '--uniad-runs', 'baseline', 'nexusflow', '--dense-runs', 'stl',
            '--dense-root', 'data/nyu', '--probe-steps', '7',
            '--readme', '', '--skip-existing']
    args = compare.parse_args(argv)
    plan = compare.build_plan(args)
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
    latents = {s.title: s.argv for s in plan['latents']}
    probe = latents['latents uniad/baseline (probe)']
    assert probe[probe.index('--probe-config') + 1] == compare.UNIAD_PROBE
    assert probe[probe.index('--probe-steps') + 1] == '7'
    assert '--probe-config' not in latents['latents uniad/nexusflow']
    assert '--probe-config' in latents['latents dense/stl (probe)']

    # Baseline finished; the nexusflow run only trained; the STL run's
    # checkpoint is newer than its metrics (retrained): test again.
    make_finished(tmp_path, 'wd', 'uniad', 'baseline', 'iter_10.pth')
    nf = make_finished(tmp_path, 'wd', 'uniad', 'nexusflow', 'iter_10.pth',
                       latents=False)
    os.remove(osp.join(nf, 'metrics.json'))
    stl = make_finished(tmp_path, 'wd', 'dense', 'stl', 'epoch_2.pth')
    os.utime(osp.join(stl, 'epoch_2.pth'), (2e9, 2e9))
    tables = []
    monkeypatch.setattr(compare, 'write_tables', tables.append)
    compare.main(argv)
    assert executed == ['test uniad/nexusflow', 'test dense/stl',
                        'latents uniad/nexusflow', 'latents dense/stl (probe)']
    assert len(tables) == 1
    out = capsys.readouterr().out
    assert 'train uniad/baseline: skipped' in out

    # --dry-run runs nothing and lists every step without --skip-existing.
    executed.clear()
    compare.main(argv[:-1] + ['--dry-run'])
    assert executed == []
    assert capsys.readouterr().out.count('would run') == 9


def test_compare_rejects_bad_arguments(capsys):
    compare = load_tool('analysis_compare', 'tools/analysis/compare_tiny.py')
    with pytest.raises(SystemExit):
        compare.parse_args(['--iters', '0'])
    assert '--iters must be >= 1' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare.parse_args(['--uniad-runs', 'nope'])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_compare_dry_run_writes_nothing(tmp_path, monkeypatch, capsys):
    compare = load_tool('analysis_compare', 'tools/analysis/compare_tiny.py')
    monkeypatch.setattr(compare, 'ROOT', str(tmp_path))
    (tmp_path / 'data' / 'nyu' / 'val').mkdir(parents=True)
    monkeypatch.setattr(sys, 'argv', ['compare_tiny.py'])
    compare.main(['--work-dir', 'wd', '--uniad-runs', '--dense-runs', 'stl',
                  'nexusflow', '--dense-root', 'data/nyu', '--dry-run'])
    out = capsys.readouterr().out
    assert 'summarize.py' in out and 'mmd.py' in out
    assert '--delta-m-reference wd/dense/stl' in out
    assert not (tmp_path / 'wd').exists()
