"""The tiny domain-split config and its panoptic-map-head twin train and
validate through mmengine's Runner on the synthetic set (AlignWeightHook,
both metrics)."""
import pytest
from mmengine.runner import Runner

from helpers.uniad import PANOPTIC_TINY, TINY, load_config


@pytest.mark.slow
@pytest.mark.parametrize('path', [TINY, PANOPTIC_TINY],
                         ids=['dense', 'panoptic'])
def test_tiny_config_trains_and_validates(path, synthetic_nuscenes_infos,
                                          tmp_path):
    cfg = load_config(path)
    root = synthetic_nuscenes_infos['root'] + '/'
    cfg.train_dataloader.dataset.dataset.data_root = root
    cfg.val_dataloader.dataset.data_root = root
    cfg.test_dataloader = cfg.val_dataloader
    for metric in cfg.val_evaluator:
        if 'data_root' in metric:
            metric.data_root = root
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.custom_hooks[0].update(begin_iter=1, warmup_iters=0)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1)
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    weights = []
    neck = runner.model.neck
    original = neck.loss

    def record(task_feats, *args, **kwargs):
        weights.append(neck.align_weight)
        return original(task_feats, *args, **kwargs)

    neck.loss = record
    runner.train()
    # Stage 1 (lambda = 0) on iteration 0, stage 2 afterwards; 3 frames each.
    assert weights == [0.0] * 3 + [0.1] * 3
    scalars = runner.message_hub.log_scalars
    assert {'val/tracking/amota', 'val/tracking/boston/ids',
            'val/map/iou_lanes', 'val/map/singapore/iou_crossing'} <= set(
                scalars)
    map_keys = runner.model.map_head.loss_names() if path == PANOPTIC_TINY \
        else ['loss_map_mask', 'loss_map_dice']
    assert {f'train/{key}' for key in map_keys} <= set(scalars)
