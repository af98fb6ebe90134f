"""Test-time rendering of the track + map model's predictions."""
import os.path as osp
from typing import Any, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmdet3d.registry import HOOKS
from ..evaluation.tracking_metric import NuScenesTrackingMetric
from .frame import frame_from_sample
from .predictions_io import MAP_DIR, TRACKING_JSON, save_map_prediction
from .renderer import TrackMapRenderer
from .scene_writer import SceneWriter


@HOOKS.register_module()
class TrackMapVisualizationHook(Hook):
    """Draws every test frame of a track + map model; a GIF per scene.

    Per frame it writes ``<out_dir>/<scene>/<frame_idx>.png`` (see
    :class:`TrackMapRenderer`: map GT and predicted map probabilities side
    by side, GT boxes and the tracked boxes coloured by ``tracking_id``
    with trails, the six cameras with the tracked boxes projected, the
    city in the title) and, after the last frame of a scene,
    ``<out_dir>/<scene>.gif``. It reads ``pred_track_3d``, ``pred_map``,
    ``gt_instances_3d``, ``gt_map`` and the track + map metainfo of each
    output sample; the images come from the batch (as the pipeline loaded
    them), or from ``img_path``. ``tools/test.py --show-dir DIR`` adds it.

    With ``save_predictions`` it also keeps what ``tools/visualize.py``
    needs to draw the run again without the model: each frame's map
    probabilities in ``<out_dir>/map_preds/<token>.npz`` and, when the
    test evaluator's ``NuScenesTrackingMetric`` has no ``jsonfile_prefix``
    of its own, the metric's result json in ``<out_dir>``.

    Frames must arrive in scene order (the UniAD test dataloaders'
    ``SceneContiguousSampler`` gives each process whole scenes, so every
    process writes its own scenes).

    Args:
        out_dir (str): the output folder.
        draw (bool): render at all (False keeps the hook configured but
            idle). Defaults to True.
        score_thr (float): tracked boxes scoring lower are not drawn.
            Defaults to 0.
        trail_length (int): past centres drawn per track. Defaults to 5.
        resolution (float): metres per map cell. Defaults to 0.512.
        scale (int): pixels per map cell side. Defaults to 2.
        gif (bool): write a GIF per scene. Defaults to True.
        fps (float): GIF frames per second. Defaults to 2.
        gif_zoom (float): GIF size relative to the PNGs. Defaults to 0.5.
        save_predictions (bool): keep the map predictions and the tracking
            json for ``tools/visualize.py``. Defaults to True.
    """

    def __init__(self,
                 out_dir: str,
                 draw: bool = True,
                 score_thr: float = 0.0,
                 trail_length: int = 5,
                 resolution: float = 0.512,
                 scale: int = 2,
                 gif: bool = True,
                 fps: float = 2.0,
                 gif_zoom: float = 0.5,
                 save_predictions: bool = True) -> None:
        if not out_dir:
            raise ValueError('TrackMapVisualizationHook: out_dir is empty')
        self.out_dir = out_dir
        self.draw = draw
        self.renderer_args = dict(resolution=resolution, scale=scale,
                                  trail_length=trail_length,
                                  score_thr=score_thr)
        self.gif_args = dict(gif=gif, fps=fps, gif_zoom=gif_zoom)
        self.save_predictions = save_predictions
        self.writer: Optional[SceneWriter] = None

    def before_test(self, runner) -> None:
        """Starts a new output (and points the tracking json at it)."""
        if not self.draw:
            return
        self.writer = SceneWriter(self.out_dir,
                                  TrackMapRenderer(**self.renderer_args),
                                  **self.gif_args)
        if not self.save_predictions:
            return
        for metric in getattr(runner.test_loop.evaluator, 'metrics', []):
            if isinstance(metric, NuScenesTrackingMetric) and \
                    metric.jsonfile_prefix is None:
                metric.jsonfile_prefix = self.out_dir
                print_log(f'TrackMapVisualizationHook: the tracking results '
                          f'go to {osp.join(self.out_dir, TRACKING_JSON)}',
                          logger='current')

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Any = None,
                        outputs: Optional[Sequence] = None) -> None:
        """Renders the batch's frames.

        Args:
            runner (Runner): the runner.
            batch_idx (int): index of the batch.
            data_batch (dict): the dataloader's batch (its images).
            outputs (Sequence[Det3DDataSample]): the predicted samples.
        """
        if not self.draw or not outputs:
            return
        images = _batch_images(data_batch, len(outputs))
        for sample, imgs in zip(outputs, images):
            if self.save_predictions and 'pred_map' in sample:
                save_map_prediction(osp.join(self.out_dir, MAP_DIR),
                                    sample.metainfo['token'],
                                    sample.pred_map.masks)
            self.writer.add(frame_from_sample(sample, imgs))

    def after_test_epoch(self, runner, metrics: Optional[dict] = None
                         ) -> None:
        """Writes the last scene's GIF and says where everything is."""
        if not self.draw or self.writer is None:
            return
        gifs = self.writer.close()
        frames = sum(len(v) for v in self.writer.frames.values())
        print_log(f'TrackMapVisualizationHook: {frames} frames of '
                  f'{len(self.writer.frames)} scenes in {self.out_dir}'
                  + (f', GIFs: {", ".join(gifs)}' if gifs else ''),
                  logger='current')


def _batch_images(data_batch: Any, num: int) -> List[Optional[Any]]:
    """The loaded images of each of the ``num`` outputs, or None each
    (read from ``img_path`` then) when the batch does not pair up."""
    inputs = data_batch.get('inputs') if isinstance(data_batch, dict) \
        else None
    imgs = inputs.get('img', inputs.get('imgs')) if isinstance(
        inputs, dict) else None
    if imgs is not None and len(imgs) == num and all(
            getattr(i, 'ndim', 0) == 4 for i in imgs):
        return list(imgs)
    return [None] * num


def enable_show_dir(cfg, show_dir: str) -> None:
    """What ``tools/test.py --show-dir DIR`` does to a config.

    A config with mmdet3d's ``default_hooks.visualization`` (the stock
    mmdet3d configs) gets mmdet3d's behaviour: ``draw=True`` and
    ``test_out_dir=DIR`` (under the run's work dir and timestamp). Any
    other config gets a :class:`TrackMapVisualizationHook` writing to
    ``DIR`` as given (its options kept when the config already has one).

    Args:
        cfg (Config): the test config (changed in place).
        show_dir (str): the output folder.
    """
    stock = cfg.get('default_hooks', {}).get('visualization')
    if stock is not None and stock.get('type') != \
            'TrackMapVisualizationHook':
        stock.update(draw=True, test_out_dir=show_dir)
        return
    hooks = list(cfg.get('custom_hooks', None) or [])
    ours = [h for h in hooks if h.get('type') == 'TrackMapVisualizationHook']
    if stock is not None:
        stock.update(draw=True, out_dir=show_dir)
    elif ours:
        for hook in ours:
            hook.update(draw=True, out_dir=show_dir)
    else:
        hooks.append(dict(type='TrackMapVisualizationHook',
                          out_dir=show_dir))
    cfg.custom_hooks = hooks
