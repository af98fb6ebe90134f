"""Draws a finished test run again from its saved predictions.

Reads the tracking result json that ``NuScenesTrackingMetric`` wrote and
the map predictions that ``TrackMapVisualizationHook`` kept (both in the
folder of ``tools/test.py ... --show-dir DIR``), takes GT, images and poses
from the config's test set, and writes a PNG per frame (BEV + cameras) and
a GIF per scene. The model is not needed.

Example:
    python tools/test.py configs/nexusflow/uniad_domainsplit_tiny.py \
        work_dirs/uniad_domainsplit_tiny/iter_8.pth --show-dir vis/
    python tools/visualize.py configs/nexusflow/uniad_domainsplit_tiny.py \
        vis/ --scene scene-0103 --max-frames 4 --out vis/again
"""
import argparse
import os.path as osp

from _bootstrap import import_nexusflow

import_nexusflow()
from mmengine.config import DictAction
from mmengine.registry import init_default_scope

from nexusflow.utils.errors import one_line_errors
from nexusflow.utils.launch import check_data_roots, load_config
from nexusflow.visualization import TrackMapRenderer, load_tracking_results
from nexusflow.visualization.saved_run import (default_map_dir,
                                               render_saved_run,
                                               resolve_results)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Render a test run from its saved tracks and maps')
    parser.add_argument('config', help='the run\'s config (its test set)')
    parser.add_argument(
        'results', help='results_nusc_tracking.json, or the --show-dir '
        'folder that holds it')
    parser.add_argument('--map-preds', help='folder of <token>.npz map '
                        'predictions (default: map_preds/ next to the json)')
    parser.add_argument('--out', help='output folder (default: vis/ next '
                        'to the json)')
    parser.add_argument('--scene', nargs='+', help='scene names (default: '
                        'all)')
    parser.add_argument('--max-frames', type=int,
                        help='at most this many frames per scene')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help='hide tracked boxes scoring lower')
    parser.add_argument('--no-gif', action='store_true',
                        help='PNGs only, no GIF per scene')
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with one_line_errors(args.debug):
        render(args)


def render(args: argparse.Namespace) -> None:
    """Renders the chosen scenes; bad input raises with a clear message."""
    results = resolve_results(args.results)
    tracks = load_tracking_results(results)
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    if not cfg.get('test_dataloader'):
        raise ValueError(f'{args.config} has no test_dataloader')
    check_data_roots(cfg)
    out = args.out or osp.join(osp.dirname(results), 'vis')
    written = render_saved_run(
        cfg.test_dataloader.dataset, tracks, out,
        args.map_preds or default_map_dir(results), args.scene,
        args.max_frames, TrackMapRenderer(score_thr=args.score_thr),
        gif=not args.no_gif)
    print(f'{len(written["frames"])} frames written to {out}')
    for gif in written['gifs']:
        print(f'GIF: {gif}')


if __name__ == '__main__':
    main()
