"""run_all.py creates the synthetic nuScenes set for the scripts that read
it (a fresh clone has none), once, and hands its root to them."""
import os
import os.path as osp

import pytest

pytestmark = pytest.mark.slow  # creates a dataset with the two tools

NEEDS = '''
import os, os.path as osp
def main(argv=None):
    root = os.environ['SYNTHETIC_NUSCENES']
    found = osp.isfile(osp.join(root, 'nuscenes_trackmap_infos_train.pkl'))
    return dict(root=root, ratios=[dict(name='infos found',
                                        value=float(found), goal=None,
                                        section=None)])
'''
PLAIN = '''
def main(argv=None):
    return dict(ratios=[])
'''


def test_creates_the_set_once_for_scripts_that_need_it(
        tmp_path, monkeypatch, load_tool):
    run_all = load_tool('benchmarks/run_all.py')
    scripts = tmp_path / 'scripts'
    scripts.mkdir()
    (scripts / 'plain.py').write_text(PLAIN)
    root = str(tmp_path / 'nus')
    monkeypatch.setenv('SYNTHETIC_NUSCENES', root)

    run_all.main(['--dir', str(scripts)])
    assert not osp.exists(root)  # nothing asked for it

    (scripts / 'needs.py').write_text(NEEDS)
    result = run_all.main(['--dir', str(scripts), '--only', 'needs.py'])
    (needs, ) = result['scripts']
    assert needs['ok'] and needs['result']['root'] == root
    assert needs['result']['ratios'][0]['value'] == 1.0
    infos = osp.join(root, 'nuscenes_trackmap_infos_train.pkl')
    assert osp.isfile(osp.join(root, 'v1.0-mini', 'sample.json'))
    stamp = os.stat(infos).st_mtime_ns

    run_all.main(['--dir', str(scripts), '--only', 'needs.py'])
    assert os.stat(infos).st_mtime_ns == stamp  # kept, not remade


def test_a_failed_creation_is_one_error_line(tmp_path, monkeypatch,
                                             load_tool):
    run_all = load_tool('benchmarks/run_all.py')
    (tmp_path / 'needs.py').write_text(NEEDS)
    blocker = tmp_path / 'file'
    blocker.write_text('not a folder')
    monkeypatch.setenv('SYNTHETIC_NUSCENES', str(blocker / 'nus'))
    with pytest.raises(SystemExit) as exit_info:
        run_all.main(['--dir', str(tmp_path)])
    message = str(exit_info.value.code)
    assert message.startswith('error: could not create the synthetic '
                              'nuScenes set in ') and '\n' not in message
