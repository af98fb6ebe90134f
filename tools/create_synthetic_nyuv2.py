"""Writes a small synthetic NYUv2 set in the MTAN ``.npy`` layout.

The images are renders of synthetic 3D scenes with consistent labels; the
onelabel / randomlabels .pth files come with it. ``NYUv2MTLDataset`` loads
the set unchanged.

Example:
    python tools/create_synthetic_nyuv2.py --out data/synthetic_nyuv2
    python tools/create_synthetic_nyuv2.py --out data/tiny_nyuv2 --train 8 \
        --val 4 --size 32 48
"""
import argparse
import time

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.datasets.dense import create_synthetic_nyuv2  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='data root to write')
    parser.add_argument('--train', type=int, default=8,
                        help='number of training images')
    parser.add_argument('--val', type=int, default=4,
                        help='number of validation images')
    parser.add_argument('--size', type=int, nargs=2, default=(288, 384),
                        metavar=('H', 'W'), help='image size')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if min(args.train, args.val, *args.size) < 1:
        raise SystemExit('error: --train, --val and --size must be >= 1')
    start = time.time()
    try:
        root = create_synthetic_nyuv2(args.out, args.train, args.val,
                                      tuple(args.size), args.seed)
    except (ValueError, OSError) as err:
        raise SystemExit(f'error: {err}')
    print(f'wrote a synthetic NYUv2 set ({args.train} train / {args.val} '
          f'val, {args.size[0]}x{args.size[1]}) to {root} in '
          f'{time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
