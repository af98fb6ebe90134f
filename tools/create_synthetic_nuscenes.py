"""Writes a small synthetic nuScenes set in the devkit's format.

The result loads with ``nuscenes.NuScenes`` and ``NuScenesMap`` unchanged
and converts with ``tools/create_data.py nuscenes``.

Example:
    python tools/create_synthetic_nuscenes.py --out data/synthetic_nuscenes
    python tools/create_synthetic_nuscenes.py --out data/nus_tv \
        --version v1.0-trainval --scenes 40 --samples-per-scene 20
    # nuScenes' 1600 x 900 cameras, for the full-size UniAD configs:
    python tools/create_synthetic_nuscenes.py --out data/nus_full \
        --full-resolution
"""
import argparse
import time

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.testing import create_synthetic_nuscenes
from nexusflow.testing.synthetic_nuscenes import FULL_RESOLUTION


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='data root to write')
    parser.add_argument('--version', default='v1.0-mini',
                        choices=['v1.0-mini', 'v1.0-trainval'])
    parser.add_argument('--scenes', type=int, default=10,
                        help='number of scenes (at most 10 for v1.0-mini)')
    parser.add_argument('--samples-per-scene', type=int, default=8,
                        help='key frames per scene (2 Hz)')
    parser.add_argument('--sweeps-per-sample', type=int, default=1,
                        help='non-key lidar sweeps between key frames')
    parser.add_argument('--image-size', type=int, nargs=2,
                        default=(320, 180), metavar=('W', 'H'))
    parser.add_argument('--full-resolution', action='store_true',
                        help='cameras of %dx%d, as nuScenes (overrides '
                        '--image-size)' % FULL_RESOLUTION)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    try:
        root = create_synthetic_nuscenes(
            args.out, version=args.version, num_scenes=args.scenes,
            samples_per_scene=args.samples_per_scene,
            sweeps_per_sample=args.sweeps_per_sample,
            image_size=FULL_RESOLUTION if args.full_resolution else tuple(
                args.image_size), seed=args.seed)
    except (ValueError, OSError) as err:
        raise SystemExit(f'error: {err}')
    print(f'wrote a synthetic nuScenes {args.version} set ({args.scenes} '
          f'scenes) to {root} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
