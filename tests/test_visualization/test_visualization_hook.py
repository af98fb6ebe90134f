"""TrackMapVisualizationHook on the full-size config's test data (the model
is too large for a CPU test, so its outputs are stood in for: tracks with
ids and the panoptic head's 0/1 map masks), and --show-dir's config
changes."""
import copy
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.structures import InstanceData, PixelData
from PIL import Image

from mmdet3d.registry import HOOKS, METRICS
from nexusflow.visualization import (enable_show_dir, frame_from_sample,
                                     track_color)
from nexusflow.visualization.renderer import GAP, HEADER
from helpers.uniad import FULL, TINY, build_dataset, load_config
from helpers.visualization import has_color


def fake_outputs(samples, shift: float):
    """Each sample's GT as tracks (ids = instance ids, moved by ``shift``
    metres along x) and its map GT as 0/1 panoptic masks."""
    for sample in samples:
        gt = sample.gt_instances_3d
        boxes = gt.bboxes_3d.clone()
        boxes.tensor[:, 0] += shift
        sample.pred_track_3d = InstanceData(
            bboxes_3d=boxes, scores_3d=torch.full((len(boxes), ), 0.9),
            labels_3d=gt.labels_3d, track_ids=gt.instance_ids.clone())
        sample.pred_map = PixelData(masks=sample.gt_map.masks.float())
    return samples


def test_hook_draws_the_full_size_config_frames(synthetic_nuscenes_infos,
                                                tmp_path):
    cfg = load_config(FULL)
    dataset = build_dataset(cfg, synthetic_nuscenes_infos, 'val')
    metric_cfg = copy.deepcopy(cfg.test_evaluator[0])
    metric_cfg.update(data_root=synthetic_nuscenes_infos['root'],
                      version='v1.0-mini', eval_set='mini_val')
    metric = METRICS.build(metric_cfg)
    runner = SimpleNamespace(test_loop=SimpleNamespace(
        evaluator=SimpleNamespace(metrics=[metric])))
    hook = HOOKS.build(dict(type='TrackMapVisualizationHook',
                            out_dir=str(tmp_path)))
    hook.before_test(runner)
    assert metric.jsonfile_prefix == str(tmp_path)
    for index in range(3):
        batch = pseudo_collate([dataset[index]])
        outputs = fake_outputs(batch['data_samples'], shift=0.5 * index)
        hook.after_test_iter(runner, index, batch, outputs)
    hook.after_test_epoch(runner)

    scene = outputs[0].metainfo['scene_name']
    pngs = sorted((tmp_path / scene).glob('*.png'))
    assert len(pngs) == 3 and (tmp_path / f'{scene}.gif').exists()
    assert len(list((tmp_path / 'map_preds').glob('*.npz'))) == 3
    # The last frame: every track inside the BEV at its place, in its
    # colour.
    frame_renderer = hook.writer.renderer
    frame = frame_from_sample(outputs[0])
    canvas = frame_renderer.canvas(frame)
    image = Image.open(pngs[-1])
    assert image.size == frame_renderer.layout(frame)[0]
    boxes = outputs[0].pred_track_3d.bboxes_3d.tensor.numpy()
    ids = outputs[0].pred_track_3d.track_ids.tolist()
    checked = 0
    for b, track_id in zip(boxes, ids):
        if np.abs(b[:2]).max() < 45:
            col, row = canvas.world_to_pixel([b[:2]])[0]
            # A neighbour's id label may cover a centre.
            checked += has_color(image, track_color(track_id),
                                 (col + canvas.size[0] + GAP, row + HEADER))
    assert checked >= 0.8 * len(boxes) and checked > 3


def test_show_dir_config_changes():
    cfg = load_config(TINY)
    enable_show_dir(cfg, 'out/vis')
    hooks = [h for h in cfg.custom_hooks
             if h['type'] == 'TrackMapVisualizationHook']
    assert hooks == [dict(type='TrackMapVisualizationHook',
                          out_dir='out/vis')]
    enable_show_dir(cfg, 'elsewhere')  # no second hook
    assert [h['out_dir'] for h in cfg.custom_hooks
            if h['type'] == 'TrackMapVisualizationHook'] == ['elsewhere']
    # A stock mmdet3d config keeps mmdet3d's own convention.
    stock = Config(dict(default_hooks=dict(visualization=dict(
        type='Det3DVisualizationHook', draw=False))))
    enable_show_dir(stock, 'shows')
    assert stock.default_hooks.visualization.draw is True
    assert stock.default_hooks.visualization.test_out_dir == 'shows'
    assert not stock.get('custom_hooks')
