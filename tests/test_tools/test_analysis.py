"""The analysis tools on real formats: a tiny dense run trained through
tools/train.py, its latents collected from a saved checkpoint, synthetic
latents files for the MMD and scree reports, and run_all.py over fake
benchmark scripts."""
import csv
import glob
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers.analysis import root_options, run_main, table_rows, write_latents

pytestmark = pytest.mark.slow  # subprocesses / training runs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = 'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py'
MTL = 'configs/dense/nyuv2_segnet_mtl_onelabel_tiny.py'
TASKS = ('semantic', 'depth', 'normal')


@pytest.fixture(scope='module')
def tiny_run(tiny_nyuv2, tmp_path_factory):
    """A work dir of one epoch (2 iterations) + one validation."""
    work = tmp_path_factory.mktemp('work')
    result = subprocess.run(
        [sys.executable, 'tools/train.py', TINY, '--work-dir', str(work),
         '--cfg-options', *root_options(tiny_nyuv2),
         'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'default_hooks.checkpoint.interval=1'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return str(work)


def test_summarize_reads_a_real_run(tiny_run, tmp_path, monkeypatch,
                                    capsys, load_tool):
    summarize = load_tool('analysis/summarize.py')
    # A nuScenes-style run evaluated by tools/test.py, for the columns.
    nus = tmp_path / 'nus'
    nus.mkdir()
    (nus / 'metrics.json').write_text(json.dumps({
        'tracking/singapore/amota': 0.2, 'tracking/amota': 0.3,
        'map/boston/iou_lanes': 0.4, 'dense/delta_m': -1.5}))
    out, table_csv = tmp_path / 't.md', tmp_path / 't.csv'
    run_main(summarize, monkeypatch, [
        tiny_run, str(nus), '--labels', 'tiny', 'nus', '--out', str(out),
        '--csv', str(table_csv)])
    assert capsys.readouterr().out.strip() == out.read_text().strip()

    scalars = osp.join(tiny_run, '*', 'vis_data', 'scalars.json')
    (path, ) = glob.glob(scalars)
    with open(path) as f:
        val = [json.loads(line) for line in f][-1]
    assert 'dense/miou' in val and 'loss' not in val
    with open(table_csv) as f:
        rows = list(csv.reader(f))
    header, tiny, nus_row = rows
    assert header[:3] == ['run', 'Δm', 'dense/miou']
    # Per-domain columns come after the overall ones, grouped by domain.
    assert header.index('map/boston/iou_lanes') < header.index(
        'tracking/singapore/amota')
    assert header.index('dense/miou') < header.index('map/boston/iou_lanes')
    for key in ('dense/miou', 'dense/abs_err', 'dense/mean_angle'):
        assert float(tiny[header.index(key)]) == pytest.approx(val[key])
    assert 'step' not in header and 'time' not in header
    assert nus_row[header.index('dense/miou')] == ''
    assert float(nus_row[1]) == -1.5
    assert '| tiny |' in out.read_text()


def saved_model(config, folder):
    """The freshly built model of ``config`` and its checkpoint file."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdet3d.registry import MODELS
    init_default_scope('mmdet3d')
    model = MODELS.build(Config.fromfile(osp.join(REPO, config)).model)
    ckpt = folder / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return model, ckpt


def test_collect_latents_from_a_saved_checkpoint(tiny_nyuv2, tmp_path,
                                                 monkeypatch, capsys,
                                                 load_tool):
    model, ckpt = saved_model(TINY, tmp_path)
    collect = load_tool('analysis/collect_latents.py')
    out = tmp_path / 'latents.npz'
    run_main(collect, monkeypatch, [
        TINY, str(ckpt), '--out', str(out), '--max-samples', '3',
        '--cfg-options', *root_options(tiny_nyuv2)])
    assert 'saved' in capsys.readouterr().out
    arrays = np.load(out)
    assert sorted(arrays.files) == sorted(
        [f'h_{t}' for t in TASKS] + [f'z_{t}' for t in TASKS])
    model.eval()
    for task in TASKS:
        h, z = arrays[f'h_{task}'], arrays[f'z_{task}']
        assert h.shape == z.shape == (3, 16)
        # z is the surrogate's flow applied to the recorded h'.
        flow = model.neck.bank.surrogates[task].flow
        with torch.no_grad():
            expected = flow(torch.from_numpy(h)).numpy()
        np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-5)


def test_collect_latents_probes_a_host_without_surrogates(
        tiny_nyuv2, tmp_path, monkeypatch, capsys, load_tool):
    _, ckpt = saved_model(MTL, tmp_path)
    collect = load_tool('analysis/collect_latents.py')
    out = tmp_path / 'probe.npz'
    run_main(collect, monkeypatch, [
        MTL, str(ckpt), '--out', str(out), '--max-samples', '2',
        '--probe-config', TINY, '--probe-steps', '2', '--cfg-options',
        *root_options(tiny_nyuv2)])
    text = capsys.readouterr().out
    assert f'probe: model.neck from {TINY}' in text
    assert 'probe: 2 steps, alignment loss' in text
    arrays = np.load(out)
    assert arrays['probe_loss'].shape == (2, )
    assert arrays['z_depth'].shape == (2, 16)
    # The host's own checkpoint has no neck: collecting it without the
    # probe names what is missing.
    with pytest.raises(SystemExit, match='expected one SurrogateBank'):
        run_main(collect, monkeypatch, [
            MTL, str(ckpt), '--out', str(out), '--cfg-options',
            *root_options(tiny_nyuv2)])


def test_mmd_table_per_run_and_domain(tmp_path, monkeypatch, capsys,
                                      load_tool):
    mmd = load_tool('analysis/mmd.py')
    aligned = write_latents(tmp_path / 'aligned.npz', shift=0.0)
    apart = write_latents(tmp_path / 'apart.npz', shift=2.0)
    run_main(mmd, monkeypatch, [apart, aligned, '--labels', 'Baseline',
                                'NexusFlow', '--permutations', '50'])
    text = capsys.readouterr().out
    for title in ('all samples', 'domain boston', 'domain singapore'):
        rows = table_rows(text, title)
        assert list(rows) == ['Baseline', 'NexusFlow']
        assert float(rows['Baseline'][-1]) > float(rows['NexusFlow'][-1])
    overall = table_rows(text, 'all samples')
    p_value = float(overall['Baseline'][0].split('p=')[1].rstrip(')'))
    assert p_value < 0.05


def test_pca_scree_writes_table_and_figure(tmp_path, monkeypatch, capsys,
                                           load_tool):
    scree = load_tool('analysis/pca_scree.py')
    rng = np.random.default_rng(0)
    low = rng.standard_normal((50, 2)) @ rng.standard_normal((2, 8))
    np.savez(tmp_path / 'low.npz', z_a=low, z_b=low[::-1])
    write_latents(tmp_path / 'full.npz', shift=0.0, num=50, dim=8)
    out = tmp_path / 'scree.png'
    run_main(scree, monkeypatch, [
        str(tmp_path / 'low.npz'), str(tmp_path / 'full.npz'), '--labels',
        'low', 'full', '--out', str(out)])
    text = capsys.readouterr().out
    assert 'PCA of z (all tasks):' in text and f'saved {out}' in text
    assert '| low | 8 | 2 | 2 |' in text
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


FAST = '''import argparse
def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    print('setup done')
    step = dict(section='one mask per batch', name='step ratio',
                value=0.5 if args.quick else 2.0, goal=1.05)
    memory = dict(section=None, name='memory ratio', value=1.2, goal=None)
    return dict(rows=[1, 2], ratios=[step, memory])
'''


def test_run_all_reports_the_returned_ratios(tmp_path, capsys, load_tool):
    run_all = load_tool('benchmarks/run_all.py')
    (tmp_path / 'fast.py').write_text(FAST)
    (tmp_path / 'broken.py').write_text(
        "def main(argv=None):\n    raise SystemExit('no data')\n")
    (tmp_path / '_helper.py').write_text("raise SystemExit('not a script')\n")
    with pytest.raises(SystemExit) as exit_info:
        run_all.main(['--dir', str(tmp_path)])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    report = out[out.index('== benchmark ratios =='):]
    assert '-- fast.py --quick' in report
    assert ('   -- one mask per batch\n'
            '     step ratio 0.5 (goal <= 1.05: met)\n'
            '     memory ratio 1.2   [no goal stated]') in report
    assert 'setup done' not in report
    assert '-- broken.py (' in report and '(no ratio)' in report
    assert '== 1/2 scripts succeeded ==' in report
    assert 'FAILED broken.py: exit code 1: no data' in report
    assert '_helper' not in report

    # The dicts come back whole; --full drops --quick.
    result = run_all.main(['--dir', str(tmp_path), '--only', 'fast.py',
                           '--full'])
    (fast, ) = result['scripts']
    assert fast['ok'] and fast['flags'] == []
    assert fast['result']['rows'] == [1, 2]
    assert fast['result']['ratios'][0]['value'] == 2.0
    assert 'step ratio 2 (goal <= 1.05: NOT met)' in capsys.readouterr().out
