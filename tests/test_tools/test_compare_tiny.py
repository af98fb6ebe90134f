"""compare_tiny.py and the README writers on the command line: the tables
into README sections, and the comparison's plan and skip logic on
already-finished fake work dirs (nothing is trained here)."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest

from nexusflow.analysis import compare
from helpers.analysis import README, run_main


def test_summarize_paper_preset_into_readme(tmp_path, monkeypatch, capsys,
                                            load_tool):
    summarize = load_tool('analysis/summarize.py')
    metrics = {'tracking/amota': 0.25, 'tracking/ids': 3.0,
               'map/iou_lanes': 0.314, 'map/iou_crossing': 0.02,
               'map/boston/iou_lanes': 0.4, 'tracking/singapore/amota': 0.3,
               'tracking/amotp': 1.5}
    run = tmp_path / 'run'
    run.mkdir()
    (run / 'metrics.json').write_text(json.dumps(metrics))
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    run_main(summarize, monkeypatch, [
        str(run), '--labels', 'NexusFlow', '--preset', 'paper', '--readme',
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
    with pytest.raises(SystemExit):
        run_main(summarize, monkeypatch, [str(run), '--readme', 'R.md'])
    assert '--readme and --section go together' in capsys.readouterr().err


def test_mmd_writes_its_section(tmp_path, monkeypatch, load_tool):
    mmd = load_tool('analysis/mmd.py')
    rng = np.random.default_rng(0)
    path = tmp_path / 'run.npz'
    np.savez(path, z_track=rng.standard_normal((12, 4)),
             z_map=rng.standard_normal((12, 4)) + 3.0)
    readme = tmp_path / 'README.md'
    readme.write_text(README)
    out = tmp_path / 'mmd.md'
    run_main(mmd, monkeypatch, [str(path), '--labels', 'Baseline',
                                '--readme', str(readme), '--section',
                                'other', '--out', str(out), '--caption',
                                'MMD of one run'])
    text = readme.read_text()
    assert 'keep me' not in text and '| Baseline |' in text
    assert text.index('| Baseline |') > text.index('results:other -->')
    assert '(not produced yet)' in text
    assert out.read_text().startswith('MMD of one run\n\nMMD² between')
    with pytest.raises(SystemExit, match='results:missing'):
        run_main(mmd, monkeypatch, [str(path), '--readme', str(readme),
                                    '--section', 'missing'])


def make_finished(root, group, run, checkpoint, latents=True):
    """A run folder whose steps look done: checkpoint, metrics, latents."""
    folder = osp.join(root, 'wd', group, run)
    os.makedirs(folder, exist_ok=True)
    for name in [checkpoint, 'metrics.json'] + (
            ['latents.npz'] if latents else []):
        with open(osp.join(folder, name), 'w') as f:
            f.write('x')
    return folder


@pytest.fixture
def fake_root(tmp_path, monkeypatch, load_tool):
    """compare_tiny.py over an empty repository in ``tmp_path`` with both
    synthetic sets present; the steps are recorded, not run."""
    tool = load_tool('analysis/compare_tiny.py')
    monkeypatch.setattr(tool, 'ROOT', str(tmp_path))
    executed = []
    monkeypatch.setattr(compare, 'execute',
                        lambda step, number, root: executed.append(
                            step.title))
    (tmp_path / 'data' / 'nyu' / 'val').mkdir(parents=True)
    nusc = tmp_path / compare.NUSC_ROOT
    nusc.mkdir(parents=True)
    (nusc / 'nuscenes_trackmap_infos_val.pkl').write_bytes(b'')
    return tool, executed


def test_compare_skips_finished_steps(fake_root, tmp_path, monkeypatch,
                                      capsys):
    tool, executed = fake_root
    argv = ['--work-dir', 'wd', '--iters', '10', '--dense-epochs', '2',
            '--uniad-runs', 'baseline', 'nexusflow', '--dense-runs', 'stl',
            '--dense-root', 'data/nyu', '--probe-steps', '7',
            '--readme', '', '--skip-existing']
    # Baseline finished; the nexusflow run only trained; the STL run's
    # checkpoint is newer than its metrics (retrained): test again.
    make_finished(tmp_path, 'uniad', 'baseline', 'iter_10.pth')
    nf = make_finished(tmp_path, 'uniad', 'nexusflow', 'iter_10.pth',
                       latents=False)
    os.remove(osp.join(nf, 'metrics.json'))
    stl = make_finished(tmp_path, 'dense', 'stl', 'epoch_2.pth')
    os.utime(osp.join(stl, 'epoch_2.pth'), (2e9, 2e9))
    tables = []
    monkeypatch.setattr(compare, 'write_tables',
                        lambda settings, root: tables.append(settings))
    tool.main(argv)
    assert executed == ['test uniad/nexusflow', 'test dense/stl',
                        'latents uniad/nexusflow', 'latents dense/stl (probe)']
    (settings, ) = tables
    assert settings.probe_steps == 7 and settings.readme == ''
    assert 'train uniad/baseline: skipped' in capsys.readouterr().out

    # --dry-run runs nothing and lists every step without --skip-existing.
    executed.clear()
    tool.main(argv[:-1] + ['--dry-run'])
    assert executed == []
    assert capsys.readouterr().out.count('would run') == 9


def test_compare_rejects_bad_arguments(capsys, load_tool):
    tool = load_tool('analysis/compare_tiny.py')
    with pytest.raises(SystemExit):
        tool.parse_args(['--iters', '0'])
    assert '--iters must be >= 1' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.parse_args(['--uniad-runs', 'nope'])
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    # The defaults are the package's.
    assert compare.CompareSettings(**vars(tool.parse_args([]))) == \
        compare.CompareSettings()


def test_compare_dry_run_writes_nothing(fake_root, tmp_path, monkeypatch,
                                        capsys):
    tool, _ = fake_root
    monkeypatch.setattr(sys, 'argv', ['compare_tiny.py'])
    tool.main(['--work-dir', 'wd', '--uniad-runs', '--dense-runs', 'stl',
               'nexusflow', '--dense-root', 'data/nyu', '--dry-run'])
    out = capsys.readouterr().out
    assert 'summarize.py' in out and 'mmd.py' in out
    assert '--delta-m-reference wd/dense/stl' in out
    assert not (tmp_path / 'wd').exists()
