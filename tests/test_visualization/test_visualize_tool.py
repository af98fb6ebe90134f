"""tools/visualize.py from a saved tracking json alone: boxes drawn where
the json puts them (global -> each frame's LiDAR), one error line for a
wrong scene or a missing file."""
import json

import numpy as np
import pytest
from PIL import Image

from nexusflow.evaluation.nuscenes_boxes import lidar_boxes_to_global
from nexusflow.visualization import (TrackMapRenderer, frame_from_sample,
                                     track_color)
from nexusflow.visualization.renderer import GAP, HEADER
from helpers.analysis import run_main
from helpers.uniad import TINY, build_dataset, load_config
from helpers.visualization import box, has_color

SCENE = 'scene-0103'
BOXES = {7: box(12, 6, yaw=0.3), 12: box(-8, -14, yaw=2.0)}


@pytest.fixture(scope='module')
def saved_json(synthetic_nuscenes_infos, tmp_path_factory):
    """A devkit result json with two tracks in the first two frames of
    scene-0103, made from known LiDAR boxes."""
    dataset = build_dataset(load_config(TINY), synthetic_nuscenes_infos,
                            'val')
    results = {}
    for index in range(2):
        info = dataset.get_data_info(index)
        assert info['scene_name'] == SCENE
        glob = lidar_boxes_to_global(np.array(list(BOXES.values())),
                                     info['lidar2global'])
        results[info['token']] = [
            dict(sample_token=info['token'],
                 translation=glob['translation'][n].tolist(),
                 size=glob['size'][n].tolist(),
                 rotation=glob['rotation'][n].tolist(),
                 velocity=glob['velocity'][n].tolist(),
                 tracking_id=str(track_id), tracking_name='car',
                 tracking_score=0.8) for n, track_id in enumerate(BOXES)
        ]
    path = tmp_path_factory.mktemp('saved') / 'results_nusc_tracking.json'
    path.write_text(json.dumps(dict(meta={}, results=results)))
    return str(path)


def test_renders_the_tracks_of_a_saved_json(saved_json, load_tool,
                                            monkeypatch, tmp_path,
                                            synthetic_nuscenes_infos):
    monkeypatch.setenv('SYNTHETIC_NUSCENES',
                       synthetic_nuscenes_infos['root'])
    out = tmp_path / 'vis'
    run_main(load_tool('visualize.py'), monkeypatch, [
        TINY, saved_json, '--scene', SCENE, '--max-frames', '2', '--out',
        str(out), '--no-gif'
    ])
    pngs = sorted((out / SCENE).glob('*.png'))
    assert [p.name for p in pngs] == ['000.png', '001.png']
    assert not list(out.glob('*.gif'))
    dataset = build_dataset(load_config(TINY), synthetic_nuscenes_infos,
                            'val')
    renderer = TrackMapRenderer()
    for index, png in enumerate(pngs):
        item = dataset[index]
        canvas = renderer.canvas(frame_from_sample(item['data_samples'],
                                                   item['inputs']['img']))
        image = Image.open(png)
        for track_id, lidar_box in BOXES.items():
            col, row = canvas.world_to_pixel([lidar_box[:2]])[0]
            assert has_color(image, track_color(track_id),
                             (col + canvas.size[0] + GAP, row + HEADER))


@pytest.mark.parametrize('args,message', [
    (['--scene', 'scene-9999'], "scene(s) ['scene-9999'] are not in"),
    (['--max-frames', '0'], 'max_frames must be >= 1'),
])
def test_bad_input_is_one_error_line(saved_json, load_tool, monkeypatch,
                                     capsys, tmp_path, args, message,
                                     synthetic_nuscenes_infos):
    monkeypatch.setenv('SYNTHETIC_NUSCENES',
                       synthetic_nuscenes_infos['root'])
    with pytest.raises(SystemExit) as exit_info:
        run_main(load_tool('visualize.py'), monkeypatch,
                 [TINY, saved_json, '--out', str(tmp_path)] + args)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ') and \
        message in err[0]


def test_missing_results_are_one_error_line(load_tool, monkeypatch, capsys,
                                            tmp_path):
    with pytest.raises(SystemExit):
        run_main(load_tool('visualize.py'), monkeypatch,
                 [TINY, str(tmp_path / 'none.json')])
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: tracking results') and 'none.json' in err
