"""tools/test.py --show-dir on the tiny track + map config (a random model
saved here, 1 scene, 3 frames): a PNG per frame with the tracks where the
metric's json puts them, a GIF, the saved predictions; then
tools/visualize.py draws the run again from them."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from nexusflow.visualization import (TrackMapRenderer, frame_from_sample,
                                     load_tracking_results, track_color,
                                     tracks_in_lidar)
from nexusflow.visualization.palette import BACKGROUND
from nexusflow.visualization.renderer import GAP, HEADER
from helpers.analysis import run_main
from helpers.uniad import TINY, build_dataset, build_model, load_config
from helpers.visualization import has_color

pytestmark = pytest.mark.slow  # a Runner test pass with the devkit

SCENE = 'scene-0103'


@pytest.fixture(scope='module')
def show_run(synthetic_nuscenes_infos, tmp_path_factory, load_tool):
    root = synthetic_nuscenes_infos['root']
    tmp = tmp_path_factory.mktemp('show')
    cfg = load_config(TINY)
    ckpt = str(tmp / 'random.pth')
    torch.save(dict(state_dict=build_model(cfg).state_dict(), meta={}), ckpt)
    show = tmp / 'show'
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('SYNTHETIC_NUSCENES', root)
        run_main(load_tool('test.py'), patch, [
            TINY, ckpt, '--work-dir', str(tmp / 'work'), '--show-dir',
            str(show), '--cfg-options', 'test_dataloader.dataset.indices=3',
            # Every query a track: the untrained model scores low.
            'model.track_head.score_thresh=0.0',
            'model.track_head.filter_score_thresh=0.0'
        ])
    return dict(show=show, work=tmp / 'work', root=root, cfg=cfg,
                infos=synthetic_nuscenes_infos)


def pred_panel_pixel(xy, canvas):
    col, row = canvas.world_to_pixel([xy])[0]
    return col + canvas.size[0] + GAP, row + HEADER


def test_a_picture_per_frame_with_the_tracks_of_the_json(show_run):
    show = show_run['show']
    pngs = sorted((show / SCENE).glob('*.png'))
    assert [p.name for p in pngs] == ['000.png', '001.png', '002.png']
    assert osp.isfile(show / f'{SCENE}.gif')
    with Image.open(show / f'{SCENE}.gif') as gif:
        assert gif.n_frames == 3
    assert len(list((show / 'map_preds').glob('*.npz'))) == 3
    assert 'tracking/amota' in json.loads(
        (show_run['work'] / 'metrics.json').read_text())

    dataset = build_dataset(show_run['cfg'], show_run['infos'], 'val')
    tracks = load_tracking_results(str(show / 'results_nusc_tracking.json'))
    renderer = TrackMapRenderer()
    isolated = 0
    for index, png in enumerate(pngs):
        item = dataset[index]
        frame = frame_from_sample(item['data_samples'],
                                  item['inputs']['img'])
        assert frame.scene_name == SCENE and frame.frame_idx == index
        image = Image.open(png)
        (width, height), (_, tile_h) = renderer.layout(frame)
        assert image.size == (width, height) == (804, 744)
        pixels = np.asarray(image)
        bev = pixels[HEADER:HEADER + 400]
        cameras = pixels[HEADER + 400 + GAP:]
        for panel in (bev[:, :400], bev[:, 404:], cameras):
            assert (panel != BACKGROUND).any(-1).mean() > 0.05
        boxes, ids, _ = tracks_in_lidar(tracks[frame.token],
                                        frame.lidar2global)
        assert len(ids) > 0
        canvas = renderer.canvas(frame)
        centres = np.array([pred_panel_pixel(b[:2], canvas) for b in boxes])
        gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
        np.fill_diagonal(gaps, np.inf)
        # The untrained model's tracks crowd together and a neighbour's
        # box or id label may cover a centre: every track with room
        # around it must show in its colour at its place.
        for centre, track_id, gap, b in zip(centres, ids, gaps.min(1),
                                            boxes):
            if gap > 24 and np.abs(b[:2]).max() < 45:
                isolated += 1
                assert has_color(image, track_color(track_id), centre)
    assert isolated >= 3


def test_visualize_draws_the_run_again(show_run, load_tool, monkeypatch,
                                       tmp_path):
    monkeypatch.setenv('SYNTHETIC_NUSCENES', show_run['root'])
    out = tmp_path / 'again'
    run_main(load_tool('visualize.py'), monkeypatch, [
        TINY, str(show_run['show']), '--scene', SCENE, '--max-frames', '2',
        '--out', str(out)
    ])
    pngs = sorted((out / SCENE).glob('*.png'))
    assert [p.name for p in pngs] == ['000.png', '001.png']
    for png in pngs:
        live = np.asarray(Image.open(show_run['show'] / SCENE / png.name),
                          dtype=np.int16)
        again = np.asarray(Image.open(png), dtype=np.int16)
        assert again.shape == live.shape
        # Same GT, cameras and map (probabilities saved as uint8): the
        # GT panel agrees to rounding, the prediction panel nearly so (the
        # json keeps only the tracked classes).
        gt_live, gt_again = (p[HEADER:HEADER + 400, :400]
                             for p in (live, again))
        assert np.abs(gt_live - gt_again).max() <= 1
        assert (np.abs(live - again) > 2).any(-1).mean() < 0.05
