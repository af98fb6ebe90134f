"""Info files for nuScenes, with mmdet3d's converters and NexusFlow's own.

``nuscenes`` writes into ``--out``:

1. mmdet3d's stock v2 infos for ``NuScenesDataset``
   (``nuscenes_infos_{train,val}.pkl``), the gt database
   (``nuscenes_gt_database/``) and ``nuscenes_dbinfos_train.pkl`` for
   ObjectSample, made by mmdet3d's own shipped converters;
2. the ``NuScenesTrackMapDataset`` infos
   (``nuscenes_trackmap_infos_{train,val}.pkl``) with track ids and the
   rasterized map GT.

Example:
    python tools/create_data.py nuscenes --root data/synthetic_nuscenes \
        --version v1.0-mini --out data/synthetic_nuscenes
"""
import argparse
import time

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.converters import (check_nuscenes_root, create_stock_infos,
                                  create_trackmap_infos)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='dataset', required=True)
    nus = sub.add_parser('nuscenes', help='nuScenes (real or synthetic)')
    nus.add_argument('--root', required=True, help='nuScenes data root')
    nus.add_argument('--version', default='v1.0-trainval',
                     choices=['v1.0-mini', 'v1.0-trainval', 'v1.0-test'])
    nus.add_argument('--out', required=True, help='output folder')
    nus.add_argument('--max-sweeps', type=int, default=10,
                     help='lidar sweeps recorded per key frame (step 1)')
    nus.add_argument('--canvas', type=int, nargs=2, default=(200, 200),
                     metavar=('H', 'W'), help='map GT canvas in pixels')
    nus.add_argument('--resolution', type=float, default=0.512,
                     help='map GT metres per pixel')
    nus.add_argument('--canbus', default=None,
                     help='folder holding the CAN-bus expansion (can_bus/); '
                     'defaults to --root. Without it the BEVFormer can_bus '
                     'vectors carry only the ego pose (step 2)')
    nus.add_argument('--skip-stock', action='store_true',
                     help='only write the track + map infos (step 2)')
    nus.add_argument('--skip-trackmap', action='store_true',
                     help='only write the stock mmdet3d infos (step 1)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    try:
        check_nuscenes_root(args.root, args.version)
        if not args.skip_stock:
            print('step 1/2: mmdet3d infos and gt database')
            create_stock_infos(args.root, args.version, args.out,
                               max_sweeps=args.max_sweeps)
        if not args.skip_trackmap:
            print('step 2/2: track + map infos')
            create_trackmap_infos(args.root, args.version, args.out,
                                  canvas_size=tuple(args.canvas),
                                  resolution=args.resolution,
                                  can_bus_root=args.canbus)
    except (ValueError, OSError) as err:
        raise SystemExit(f'error: {err}')
    print(f'done in {time.time() - start:.0f} s; infos in {args.out}')


if __name__ == '__main__':
    main()
