"""tools/convert_checkpoint.py as a user runs it, and tools/train.py's
check of ``load_from`` (the full-size configs start from the converted
official BEVFormer checkpoint)."""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from nexusflow.converters.checkpoint import OFFICIAL_CHECKPOINTS
from nexusflow.utils.checkpoint import load_checkpoint_file
from nexusflow.utils.launch import check_load_from

pytestmark = pytest.mark.slow  # subprocesses

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'tests', 'data')
MANIFESTS = dict(bevformer='bevformer_base_manifest.json',
                 uniad='uniad_stage1_manifest.json')
CONVERTED = 'ckpts/bevformer_r101_dcn_24ep_nexusflow.pth'


def official_like(path, kind: str, extra: dict = None) -> str:
    """An mmcv-1.x checkpoint with every key of the official manifest.

    The converter works on names (and the 10 class rows), so tensors are
    tiny, except the class branches' last layers (10 rows, value = row).
    """
    with open(osp.join(DATA, MANIFESTS[kind])) as f:
        keys = json.load(f)['state_dict']
    state = {}
    for key, shape in keys.items():
        if shape and shape[0] == 10 and '.cls_branches.' in key:
            state[key] = torch.arange(10.0)
        else:
            state[key] = torch.zeros(1)
    state.update(extra or {})
    torch.save(dict(meta=dict(CLASSES=('car', ) * 10, mmcv_version='1.4.0'),
                    state_dict=state), str(path))
    return str(path)


def run(*args):
    return subprocess.run([sys.executable, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def error_lines(result) -> list:
    return [line for line in (result.stdout + result.stderr).splitlines()
            if line.startswith('error:')]


@pytest.mark.parametrize('kind,counts', [
    ('uniad', '1742 tensors: 1707 mapped / 35 dropped / 0 unmapped'),
    ('bevformer', '1089 tensors: 1085 mapped / 4 dropped / 0 unmapped')])
def test_converts_and_prints_the_counts(tmp_path, kind, counts):
    src = official_like(tmp_path / 'official.pth', kind)
    dst = str(tmp_path / 'converted.pth')
    result = run('tools/convert_checkpoint.py', kind, src, dst)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f'{kind}: {counts}' in result.stdout
    if kind == 'uniad':
        for group in ('seg_head.bev_embedding.weight: 1',
                      'seg_head.reg_branches2.*: 24',
                      'seg_head.cls_thing_branches.*: 8',
                      'loss weights: 2'):
            assert f'dropped {group}' in result.stdout
    # An mmengine checkpoint that loads with weights_only.
    ckpt = load_checkpoint_file(dst)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert ckpt['meta']['source_kind'] == kind
    assert ckpt['meta']['source_meta']['mmcv_version'] == '1.4.0'
    # By default all 10 class rows (UniAD's training classes), in order.
    rows = ckpt['state_dict']['track_head.decoder.cls_branches.5.6.bias']
    assert rows.tolist() == [float(i) for i in range(10)]
    from mmengine.runner.checkpoint import _load_checkpoint

    from nexusflow.utils.checkpoint import trusted_checkpoints
    with trusted_checkpoints():
        assert len(_load_checkpoint(dst)['state_dict']) == \
            len(ckpt['state_dict'])


def test_never_overwrites(tmp_path):
    src = official_like(tmp_path / 'official.pth', 'uniad')
    dst = tmp_path / 'converted.pth'
    dst.write_bytes(b'mine')
    result = run('tools/convert_checkpoint.py', 'uniad', src, str(dst))
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    lines = error_lines(result)
    assert len(lines) == 1 and f'{dst} exists' in lines[0]
    assert dst.read_bytes() == b'mine'


def test_bad_inputs_give_one_line(tmp_path):
    bevformer = official_like(tmp_path / 'bevformer.pth', 'bevformer')
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    unknown = official_like(tmp_path / 'unknown.pth', 'uniad',
                            {'some_new_head.weight': torch.zeros(1)})
    cases = [
        (str(tmp_path / 'none.pth'), 'uniad',
         ['none.pth does not exist', 'UniAD stage-1 checkpoint',
          OFFICIAL_CHECKPOINTS['uniad']['url']]),
        (str(text), 'bevformer', ['notes.pth cannot be read',
                                  'official BEVFormer checkpoint']),
        (bevformer, 'uniad', ['bevformer.pth is not the official UniAD '
                              'stage-1 checkpoint',
                              'looks like a bevformer checkpoint']),
        (unknown, 'uniad', ['unknown.pth: 1 tensors are neither mapped',
                            'some_new_head.weight', 'nothing written']),
    ]
    for src, kind, wanted in cases:
        dst = tmp_path / f'out_{kind}.pth'
        result = run('tools/convert_checkpoint.py', kind, src, str(dst))
        assert result.returncode == 1, (src, result.stdout)
        assert 'Traceback' not in result.stderr
        lines = error_lines(result)
        assert len(lines) == 1, result.stderr
        for text_ in wanted:
            assert text_ in lines[0], (text_, lines[0])
        assert not dst.exists()


def test_full_size_configs_load_the_converted_bevformer_tiny_ones_none():
    configs = sorted(glob.glob(osp.join(REPO, 'configs/nexusflow/uniad_*.py')))
    assert len(configs) == 19  # 9 full-size, 10 tiny (panoptic twin)
    for path in configs:
        cfg = Config.fromfile(path)
        want = None if path.endswith('_tiny.py') else CONVERTED
        assert cfg.load_from == want, path


def test_check_load_from(tmp_path):
    existing = tmp_path / 'weights.pth'
    existing.write_bytes(b'')
    for ok in (dict(load_from=None), dict(load_from=str(existing)),
               dict(load_from='https://example.com/w.pth'),
               dict(load_from=str(tmp_path / 'gone.pth'), resume=True)):
        check_load_from(Config(ok))
    with pytest.raises(SystemExit, match=r'error: load_from .*gone.pth does '
                       r'not exist'):
        check_load_from(Config(dict(load_from=str(tmp_path / 'gone.pth'))))


def test_train_without_the_converted_checkpoint_stops_with_the_steps(
        tmp_path):
    if osp.exists(osp.join(REPO, CONVERTED)):
        pytest.skip(f'{CONVERTED} exists in this checkout')
    work = tmp_path / 'work'
    result = run('tools/train.py', 'configs/nexusflow/uniad_domainsplit.py',
                 '--work-dir', str(work))
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    info = OFFICIAL_CHECKPOINTS['bevformer']
    assert lines[0] == (
        f'error: load_from {CONVERTED} does not exist; download the official '
        f'checkpoint {info["url"]} to ckpts/bevformer_r101_dcn_24ep.pth and '
        f'convert it with: python tools/convert_checkpoint.py bevformer '
        f'ckpts/bevformer_r101_dcn_24ep.pth {CONVERTED}')
    assert not work.exists()  # stopped before the runner / model
