"""tools/benchmarks/faults.py: its table and its start-up check (the
drills themselves are what tests/test_faults/ test one by one)."""
import pytest


def test_table_lists_each_fault(load_tool):
    faults = load_tool('benchmarks/faults.py')
    text = faults.table([['kill', '2', 'resumed', 'nothing', True],
                         ['nan', '2', 'skipped', 'one step', False]])
    lines = text.splitlines()
    assert lines[0] == '| fault | processes | what happened | lost |'
    assert lines[2:] == ['| kill | 2 | resumed | nothing |',
                         '| nan | 2 | skipped | one step |']


def test_missing_data_root_is_one_line(load_tool, tmp_path):
    faults = load_tool('benchmarks/faults.py')
    with pytest.raises(SystemExit, match=r'^error: .* has no nuscenes_'
                       r'trackmap_infos_train.pkl'):
        faults.main(['--data-root', str(tmp_path)])
