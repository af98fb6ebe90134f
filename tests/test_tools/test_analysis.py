"""The analysis tools on real formats: a tiny dense run trained through
tools/train.py, its latents collected from a saved checkpoint, and
synthetic latents files for the MMD and scree reports."""
import csv
import glob
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')
TINY = 'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py'
TASKS = ('semantic', 'depth', 'normal')


def load_tool(name, path):
    # The tools find their helpers next to them, as when run as scripts.
    for folder in (TOOLS, osp.join(TOOLS, 'analysis')):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(module, monkeypatch, argv):
    monkeypatch.setattr(sys, 'argv', [module.__file__, *argv])
    module.main()


def root_options(root):
    return [f'{split}_dataloader.dataset.data_root={root}/'
            for split in ('train', 'val', 'test')]


@pytest.fixture(scope='module')
def nyu_root(tmp_path_factory):
    from nexusflow.testing import create_synthetic_nyuv2
    root = tmp_path_factory.mktemp('nyu')
    return create_synthetic_nyuv2(str(root), 8, 4, (32, 48), seed=0)


@pytest.fixture(scope='module')
def tiny_run(nyu_root, tmp_path_factory):
    """A work dir of one epoch (2 iterations) + one validation."""
    work = tmp_path_factory.mktemp('work')
    result = subprocess.run(
        [sys.executable, 'tools/train.py', TINY, '--work-dir', str(work),
         '--cfg-options', *root_options(nyu_root), 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return str(work)


def write_latents(path, shift, num=40, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    np.savez(path,
             z_a=rng.standard_normal((num, dim)),
             z_b=rng.standard_normal((num, dim)) + shift,
             h_a=rng.standard_normal((num, dim)),
             domain=np.array(['boston', 'singapore'] * (num // 2)))
    return str(path)


def table_rows(text, title):
    """``{run: cells}`` of the markdown table right after ``title``."""
    lines = text[text.index(title):].splitlines()[1:]
    while lines and not lines[0].strip():
        lines.pop(0)
    rows = {}
    for line in lines[2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip('|').split('|')]
        rows[cells[0]] = cells[1:]
    return rows


def test_summarize_reads_a_real_run(tiny_run, tmp_path, monkeypatch,
                                    capsys):
    summarize = load_tool('analysis_summarize', 'tools/analysis/summarize.py')
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


def test_summarize_names_a_bad_work_dir(tmp_path):
    summarize = load_tool('analysis_summarize', 'tools/analysis/summarize.py')
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        summarize.load_metrics(str(tmp_path))
    (tmp_path / 'metrics.json').write_text('{oops')
    with pytest.raises(ValueError, match='metrics.json: not valid JSON'):
        summarize.load_metrics(str(tmp_path))


def test_collect_latents_from_a_saved_checkpoint(nyu_root, tmp_path,
                                                 monkeypatch, capsys):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdet3d.registry import MODELS
    init_default_scope('mmdet3d')
    model = MODELS.build(Config.fromfile(osp.join(REPO, TINY)).model)
    ckpt = tmp_path / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)

    collect = load_tool('analysis_collect',
                        'tools/analysis/collect_latents.py')
    out = tmp_path / 'latents.npz'
    run_main(collect, monkeypatch, [
        TINY, str(ckpt), '--out', str(out), '--max-samples', '3',
        '--cfg-options', *root_options(nyu_root)])
    assert 'saved' in capsys.readouterr().out
    arrays = np.load(out)
    assert sorted(arrays.files) == sorted(
        [f'h_{t}' for t in TASKS] + [f'z_{t}' for t in TASKS])
    model.eval()
    for task in TASKS:
        h, z = arrays[f'h_{task}'], arrays[f'z_{task}']
        assert h.shape == z.shape == (3, 16)
        # z is the surrogate's flow applied to the recorded h'.
        flow = model.surrogate_bank.surrogates[task].flow
        with torch.no_grad():
            expected = flow(torch.from_numpy(h)).numpy()
        np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-5)


def test_collect_latents_needs_a_surrogate_bank():
    collect = load_tool('analysis_collect',
                        'tools/analysis/collect_latents.py')
    with pytest.raises(ValueError, match='found 0'):
        collect.find_bank(torch.nn.Linear(2, 2))


def test_mmd_table_per_run_and_domain(tmp_path, monkeypatch, capsys):
    mmd = load_tool('analysis_mmd', 'tools/analysis/mmd.py')
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


def test_latents_file_errors_are_named(tmp_path):
    latents_io = load_tool('analysis_latents_io',
                           'tools/analysis/latents_io.py')
    path = tmp_path / 'bad.npz'
    np.savez(path, feats=np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r'bad.npz: expected arrays named '
                       r'z_<task>'):
        latents_io.load_latents(str(path))
    np.savez(path, z_a=np.zeros((3, 2)), z_b=np.zeros((4, 2)))
    with pytest.raises(ValueError, match='one N'):
        latents_io.load_latents(str(path))
    with pytest.raises(FileNotFoundError, match='nope.npz'):
        latents_io.load_latents(str(tmp_path / 'nope.npz'))


def test_pca_scree_plot_has_one_line_per_run(tmp_path, monkeypatch, capsys):
    scree = load_tool('analysis_scree', 'tools/analysis/pca_scree.py')
    rng = np.random.default_rng(0)
    low = rng.standard_normal((50, 2)) @ rng.standard_normal((2, 8))
    np.savez(tmp_path / 'low.npz', z_a=low, z_b=low[::-1])
    write_latents(tmp_path / 'full.npz', shift=0.0, num=50, dim=8)
    paths = [str(tmp_path / 'low.npz'), str(tmp_path / 'full.npz')]

    curves, table = scree.scree_report(paths, ['low', 'full'], 'z', None)
    fig = scree.plot_scree(curves)
    assert len(fig.axes[0].get_lines()) == 2
    assert fig.axes[0].get_yscale() == 'log'
    rows = table_rows('t\n' + table, 't')
    assert rows['low'][1:] == ['2', '2']
    assert int(rows['full'][2]) > 2

    out = tmp_path / 'scree.png'
    run_main(scree, monkeypatch, paths + ['--labels', 'low', 'full',
                                          '--out', str(out)])
    assert '| low | 8 | 2 | 2 |' in capsys.readouterr().out
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_run_all_reports_ratio_lines(tmp_path, monkeypatch, capsys):
    run_all = load_tool('benchmarks_run_all', 'tools/benchmarks/run_all.py')
    (tmp_path / 'fast.py').write_text(
        'import argparse\n'
        'parser = argparse.ArgumentParser()\n'
        "parser.add_argument('--quick', action='store_true')\n"
        'args = parser.parse_args()\n'
        "print('setup done')\n"
        "print('-- one mask per batch')\n"
        "print(f'step ratio {0.5 if args.quick else 2.0} (goal <= 1.05)')\n")
    (tmp_path / 'broken.py').write_text(
        "print('memory ratio 1.2')\nraise SystemExit('no data')\n")
    (tmp_path / '_helper.py').write_text("raise SystemExit('not a script')\n")
    with pytest.raises(SystemExit) as exit_info:
        run_main(run_all, monkeypatch, ['--dir', str(tmp_path)])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    report = out[out.index('== benchmark ratios =='):]
    assert '-- fast.py --quick' in report
    assert '-- one mask per batch\n     step ratio 0.5 (goal <= 1.05)' \
        in report
    assert 'setup done' not in report
    assert 'memory ratio 1.2   [no goal stated]' in report
    assert '== 1/2 scripts succeeded ==' in report
    assert 'FAILED broken.py: exit code 1: no data' in report
    assert '_helper' not in report


def test_collect_keeps_domains_in_sample_order():
    from mmengine.model import BaseModel
    from mmengine.structures import BaseDataElement

    from mmdet3d.registry import MODELS
    collect = load_tool('analysis_collect',
                        'tools/analysis/collect_latents.py')

    class TwoTasks(BaseModel):

        def __init__(self):
            super().__init__()
            surrogate = dict(
                aggregator=dict(type='MLPAggregator', in_channels=4,
                                out_dim=8),
                flow=dict(type='RealNVPFlow', num_layers=2, hidden_dim=8))
            self.bank = MODELS.build(dict(
                type='SurrogateBank', surrogates=dict(a=surrogate,
                                                      b=surrogate),
                alignment=dict(type='CentroidAlignmentLoss')))

        def forward(self, inputs, data_samples=None, mode='loss'):
            feats = torch.stack(inputs)
            if self.grouped:  # one group per sample, last sample first
                for feat in reversed(feats.split(1)):
                    self.bank.encode(dict(a=feat, b=2 * feat))
                return {}
            return self.bank(dict(a=feats, b=2 * feats))

    locations = ['boston', 'singapore', 'singapore', 'boston', 'boston']
    batches = [
        dict(inputs=[torch.randn(4, 3, 3) for _ in chunk],
             data_samples=[BaseDataElement(metainfo=dict(location=loc))
                           for loc in chunk])
        for chunk in (locations[:2], locations[2:4], locations[4:])
    ]
    model = TwoTasks()
    model.grouped = False
    arrays = collect.collect(model, batches, max_samples=4)
    assert arrays['domain'].tolist() == locations[:4]
    assert arrays['z_a'].shape == arrays['h_b'].shape == (4, 8)
    # Task b sees twice the feature, so its h' differs from a's.
    assert not np.allclose(arrays['h_a'], arrays['h_b'])

    # Rows encoded in groups may not follow the samples: no domain then.
    model.grouped = True
    grouped = collect.collect(model, batches)
    assert 'domain' not in grouped and grouped['z_b'].shape == (5, 8)
