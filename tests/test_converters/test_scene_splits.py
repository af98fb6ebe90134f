"""Per-city scene lists merged into the devkit's custom splits.json."""
import json
import os.path as osp
import runpy
import shutil
import sys
from types import SimpleNamespace

import pytest

from nexusflow.converters import location_scene_splits, update_splits_json

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def tables(synthetic_nuscenes, tmp_path):
    shutil.copytree(osp.join(synthetic_nuscenes, 'v1.0-mini'),
                    tmp_path / 'v1.0-mini')
    return tmp_path


def test_location_lists(tables):
    entries = location_scene_splits(str(tables), 'v1.0-mini')
    assert entries['val_all'] == ['scene-0103', 'scene-0916']
    assert entries['val_boston'] == ['scene-0103']
    assert entries['val_singapore'] == ['scene-0916']
    assert entries['train_boston'] == ['scene-0553']
    assert entries['train_singapore'] == ['scene-0061']
    assert entries['val_singapore-queenstown'] == ['scene-0916']
    assert entries['train_singapore-onenorth'] == ['scene-0061']


def test_tool_merges_without_removing_entries(tables, monkeypatch, capsys):
    path = tables / 'v1.0-mini' / 'splits.json'
    path.write_text(json.dumps({'mine': ['scene-0061'], 'val_all': []}))
    monkeypatch.syspath_prepend(osp.join(REPO, 'tools'))
    monkeypatch.setattr(sys, 'argv', ['make_domain_split.py', str(tables),
                                      'v1.0-mini'])
    runpy.run_path(osp.join(REPO, 'tools', 'make_domain_split.py'),
                   run_name='__main__')
    merged = json.loads(path.read_text())
    assert merged['mine'] == ['scene-0061']
    assert merged['val_all'] == ['scene-0103', 'scene-0916']
    assert merged['val_boston'] == ['scene-0103']
    assert 'updated' in capsys.readouterr().out
    # The devkit reads these names from the file (it only needs the root
    # and the version of a NuScenes instance).
    from nuscenes.utils.splits import get_scenes_of_custom_split
    nusc = SimpleNamespace(dataroot=str(tables), version='v1.0-mini')
    assert get_scenes_of_custom_split('val_singapore', nusc) == [
        'scene-0916']


def test_builtin_names_and_bad_files_are_refused(tables):
    with pytest.raises(ValueError, match=r"\['mini_val'\] are built into"):
        update_splits_json(str(tables), 'v1.0-mini', {'mini_val': []})
    (tables / 'v1.0-mini' / 'splits.json').write_text('[1, 2]')
    with pytest.raises(ValueError, match='must hold a json object'):
        update_splits_json(str(tables), 'v1.0-mini', {'x': []})
