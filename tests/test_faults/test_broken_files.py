"""A broken input file stops the tools with one ``error:`` line that names
the file and what was expected (in-process runs of the tools' main)."""
import pickle
import sys

import pytest
import torch

from nexusflow.utils.errors import one_line_errors

UNIAD = 'configs/nexusflow/uniad_domainsplit_tiny.py'
DENSE = 'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py'


def error_line(load_tool, monkeypatch, capsys, tool, *argv) -> str:
    """Runs ``tools/<tool>`` as ``__main__`` would; its one error line."""
    module = load_tool(tool)
    monkeypatch.setattr(sys, 'argv', [tool, *argv])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        with one_line_errors():
            module.main()
    code = exit_info.value.code
    printed = code if isinstance(code, str) else capsys.readouterr().err
    lines = [line for line in printed.splitlines()
             if line.startswith('error:')]
    # (The logs may hold a '--- Logging error ---' of mmengine's handler,
    # which captures a stream pytest already swapped: a test artifact.)
    assert len(lines) == 1, printed
    return lines[0]


@pytest.fixture
def broken(tmp_path) -> dict:
    """A truncated checkpoint, a text file named .pth and a tensor file."""
    whole = tmp_path / 'whole.pth'
    torch.save(dict(meta=dict(iter=1), state_dict={'w': torch.ones(64)},
                    optimizer={}), whole)
    data = whole.read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    (tmp_path / 'notes.pth').write_text('not a checkpoint\n')
    torch.save([torch.ones(2)], tmp_path / 'list.pth')
    torch.save({'w': torch.ones(2)}, tmp_path / 'weights.pth')
    return {name: str(tmp_path / f'{name}.pth')
            for name in ('cut', 'notes', 'list', 'weights')}


@pytest.mark.parametrize('name', ['cut', 'notes'])
def test_train_resume_from_a_broken_checkpoint(name, broken, tmp_path,
                                               load_tool, monkeypatch,
                                               capsys):
    line = error_line(load_tool, monkeypatch, capsys, 'train.py', UNIAD,
                      '--work-dir', str(tmp_path / 'w'), '--resume',
                      broken[name])
    assert f'checkpoint {broken[name]} cannot be read as a torch ' \
        'checkpoint (truncated, or not a .pth file' in line


def test_train_resume_from_weights_only(broken, tmp_path, load_tool,
                                        monkeypatch, capsys):
    line = error_line(load_tool, monkeypatch, capsys, 'train.py', UNIAD,
                      '--work-dir', str(tmp_path / 'w'), '--resume',
                      broken['weights'])
    assert f'checkpoint {broken["weights"]} cannot be resumed: expected a ' \
        'training checkpoint' in line


@pytest.mark.parametrize('name, expected', [
    ('cut', 'cannot be read as a torch checkpoint (truncated'),
    ('list', 'has no state_dict: expected an mmengine checkpoint')])
def test_test_and_deploy_with_a_broken_checkpoint(name, expected, broken,
                                                  tmp_path, load_tool,
                                                  monkeypatch, capsys):
    for tool, extra in (('test.py', ['--work-dir', str(tmp_path / 'w')]),
                        ('deploy.py', [str(tmp_path / 'out')])):
        line = error_line(load_tool, monkeypatch, capsys, tool, UNIAD,
                          broken[name], *extra)
        assert line.startswith(f'error: checkpoint {broken[name]} ')
        assert expected in line


def test_converter_with_a_truncated_checkpoint(broken, tmp_path, load_tool,
                                               monkeypatch, capsys):
    line = error_line(load_tool, monkeypatch, capsys, 'convert_checkpoint.py',
                      'bevformer', broken['cut'], str(tmp_path / 'out.pth'))
    assert f'checkpoint {broken["cut"]} cannot be read' in line
    assert not (tmp_path / 'out.pth').exists()


def test_config_whose_base_is_missing(tmp_path, load_tool, monkeypatch,
                                      capsys):
    config = tmp_path / 'child.py'
    config.write_text("_base_ = ['./gone_base.py']\nx = 1\n")
    line = error_line(load_tool, monkeypatch, capsys, 'train.py',
                      str(config), '--work-dir', str(tmp_path / 'w'))
    assert 'gone_base.py as a _base_ file, which does not exist' in line
    assert str(config) in line


@pytest.mark.slow
@pytest.mark.parametrize('content, expected', [
    ('truncated', 'cannot be read (pickle data was truncated): expected a '
     'complete .pkl file'),
    ('list', 'is not an mmengine info file (expected a dict with metainfo '
     'and data_list)')])
def test_broken_infos_file(content, expected, synthetic_nuscenes_infos,
                           tmp_path, load_tool, monkeypatch, capsys):
    infos = tmp_path / 'infos.pkl'
    data = open(synthetic_nuscenes_infos['trackmap_train'], 'rb').read()
    infos.write_bytes(data[:len(data) // 2] if content == 'truncated' else
                      pickle.dumps([1, 2]))
    monkeypatch.setenv('SYNTHETIC_NUSCENES',
                       synthetic_nuscenes_infos['root'].rstrip('/'))
    line = error_line(load_tool, monkeypatch, capsys, 'train.py', UNIAD,
                      '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                      f'train_dataloader.dataset.dataset.ann_file={infos}')
    assert str(infos) in line and expected in line


@pytest.mark.slow
def test_label_weights_of_the_wrong_shape(tiny_nyuv2, tmp_path, load_tool,
                                          monkeypatch, capsys):
    weights = tmp_path / 'onelabel.pth'
    torch.save({'labels_weights': torch.ones(5, 3)}, weights)  # 8 images
    line = error_line(load_tool, monkeypatch, capsys, 'train.py', DENSE,
                      '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                      f'train_dataloader.dataset.data_root={tiny_nyuv2}',
                      f'val_dataloader.dataset.data_root={tiny_nyuv2}',
                      f'test_dataloader.dataset.data_root={tiny_nyuv2}',
                      f'train_dataloader.dataset.labels_weights={weights}')
    assert line.startswith(f'error: {weights}: "labels_weights" has 5 rows '
                           f'but the dataset has 8 samples')
