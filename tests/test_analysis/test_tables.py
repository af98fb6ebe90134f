"""Metrics tables of several work dirs: sources, columns, Δm, formats."""
import csv
import json

import pytest

from nexusflow.analysis import (PRESETS, format_table, load_metrics,
                                markdown_table, run_labels, select_columns,
                                summarize, write_csv)


def write_metrics(folder, values):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'metrics.json').write_text(json.dumps(values))
    return str(folder)


def test_load_metrics_names_a_bad_work_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        load_metrics(str(tmp_path))
    (tmp_path / 'metrics.json').write_text('{oops')
    with pytest.raises(ValueError, match='metrics.json: not valid JSON'):
        load_metrics(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_metrics(str(tmp_path / 'nope'))


def test_load_metrics_takes_the_last_validation_line(tmp_path):
    logs = tmp_path / '20240101_000000' / 'vis_data'
    logs.mkdir(parents=True)
    lines = [dict(loss=1.0, lr=0.1, step=1), dict(miou=0.2, step=1),
             dict(loss=0.5, lr=0.1, step=2), dict(miou=0.3, step=2)]
    (logs / 'scalars.json').write_text(
        '\n'.join(json.dumps(line) for line in lines) + '\n\n')
    assert load_metrics(str(tmp_path)) == dict(miou=0.3)


def test_default_columns_and_labels(tmp_path):
    run = write_metrics(tmp_path / 'run', {
        'tracking/singapore/amota': 0.2, 'tracking/amota': 0.3,
        'map/boston/iou_lanes': 0.4, 'dense/delta_m': -1.5, 'epoch': 3})
    header, rows = summarize([run])
    # Δm, then overall metrics, then per domain (sorted by domain).
    assert header == ['run', 'Δm', 'tracking/amota', 'map/boston/iou_lanes',
                      'tracking/singapore/amota']
    assert rows == [['run', -1.5, 0.3, 0.4, 0.2]]
    assert format_table(header, rows).splitlines()[2] == \
        '| run | -1.5000 | 0.3000 | 0.4000 | 0.2000 |'
    with pytest.raises(ValueError, match='expected 1 labels'):
        run_labels([run], ['a', 'b'])


def test_paper_preset_scales_and_formats(tmp_path):
    run = write_metrics(tmp_path / 'run', {
        'tracking/amota': 0.25, 'tracking/ids': 3.0, 'map/iou_lanes': 0.314,
        'map/iou_crossing': 0.02})
    columns = select_columns('paper')
    header, rows = summarize([run], ['NexusFlow'], columns)
    assert header[:5] == ['run', 'AMOTA ↑', 'IDS ↓', 'lanes IoU ↑',
                          'crossing IoU ↑']
    cells = format_table(header, rows, columns).splitlines()[2]
    # IoUs in percent like the paper's table; missing values as '–'.
    assert cells.startswith('| NexusFlow | 0.250 | 3 | 31.4 | 2.0 | – |')
    assert select_columns() is None
    custom = select_columns(specs=['tracking/ids=IDS', 'tracking/amota'])
    assert summarize([run], None, custom)[0] == ['run', 'IDS',
                                                 'tracking/amota']
    with pytest.raises(ValueError, match='empty metric name'):
        select_columns(specs=['=x'])


def test_delta_m_against_a_run(tmp_path):
    stl = write_metrics(tmp_path / 'stl', {
        'dense/miou': 20.0, 'dense/abs_err': 1.0, 'dense/mean_angle': 40.0})
    mtl = write_metrics(tmp_path / 'mtl', {
        'dense/miou': 22.0, 'dense/abs_err': 1.1, 'dense/mean_angle': 40.0})
    header, rows = summarize([stl, mtl], ['STL', 'MTL'], PRESETS['dense'](),
                             stl)
    assert header[1] == 'Δm (%) ↑'
    assert rows[0][1] == pytest.approx(0.0)
    # (+10 % mIoU - 10 % abs err + 0) / 3
    assert rows[1][1] == pytest.approx(0.0, abs=1e-9)
    mtl2 = write_metrics(tmp_path / 'mtl2', {
        'dense/miou': 23.0, 'dense/abs_err': 0.9, 'dense/mean_angle': 36.0})
    _, rows = summarize([mtl2], None, None, stl)
    assert rows[0][1] == pytest.approx(100 * (0.15 + 0.1 + 0.1) / 3)
    bad = write_metrics(tmp_path / 'bad', {'dense/miou': 1.0})
    with pytest.raises(ValueError, match=r"bad: its metrics lack "
                       r"\['abs_err', 'mean_angle'\]"):
        summarize([mtl], None, None, bad)
    with pytest.raises(ValueError, match='none of the columns'):
        summarize([mtl], None, select_columns(specs=['x=X']))


def test_markdown_and_csv(tmp_path):
    assert markdown_table(['a', 'b'], [['1', '2']]) == \
        '| a | b |\n|---|---|\n| 1 | 2 |'
    path = tmp_path / 't.csv'
    write_csv(str(path), ['run', 'x'], [['a', 1.5], ['b', None]])
    with open(path) as f:
        assert list(csv.reader(f)) == [['run', 'x'], ['a', '1.5'],
                                       ['b', '']]
