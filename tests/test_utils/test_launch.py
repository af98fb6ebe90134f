"""Start-up checks of the tools: load_from and frozen DCN stages."""
import os.path as osp

import pytest
from mmengine.config import Config

from nexusflow.utils.launch import check_load_from

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def config(name: str) -> Config:
    return Config.fromfile(osp.join(REPO, 'configs', 'nexusflow', name))


def test_missing_official_checkpoint_names_url_and_convert_command():
    with pytest.raises(SystemExit, match='convert_checkpoint.py bevformer'):
        check_load_from(config('uniad_domainsplit.py'))


def test_frozen_dcn_without_checkpoint_warns_once(capsys, monkeypatch):
    monkeypatch.setenv('RANK', '0')
    cfg = config('uniad_domainsplit.py')
    cfg.load_from = None
    check_load_from(cfg)
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith('warning: load_from is not set') and \
        'frozen_stages=4' in line
    monkeypatch.setenv('RANK', '1')
    check_load_from(cfg)
    assert capsys.readouterr().err == ''
    check_load_from(config('uniad_domainsplit_tiny.py'))  # no DCN there
    assert capsys.readouterr().err == ''
