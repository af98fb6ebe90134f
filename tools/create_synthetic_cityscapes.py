"""Writes a small synthetic Cityscapes set in the MTAN ``.npy`` layout.

The images are renders of synthetic 3D scenes with consistent labels
(label_7, label_19, depth); onelabel.pth comes with it.
``CityscapesMTLDataset`` loads the set unchanged.

Example:
    python tools/create_synthetic_cityscapes.py \
        --out data/synthetic_cityscapes
    python tools/create_synthetic_cityscapes.py --out data/tiny_cityscapes \
        --train 8 --val 4 --size 16 32
"""
import argparse
import time

from _bootstrap import import_nexusflow

import_nexusflow()
from nexusflow.datasets.dense import create_synthetic_cityscapes  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True, help='data root to write')
    parser.add_argument('--train', type=int, default=8,
                        help='number of training images')
    parser.add_argument('--val', type=int, default=4,
                        help='number of validation images')
    parser.add_argument('--size', type=int, nargs=2, default=(128, 256),
                        metavar=('H', 'W'), help='image size')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if min(args.train, args.val, *args.size) < 1:
        raise SystemExit('error: --train, --val and --size must be >= 1')
    start = time.time()
    try:
        root = create_synthetic_cityscapes(args.out, args.train, args.val,
                                           tuple(args.size), args.seed)
    except (ValueError, OSError) as err:
        raise SystemExit(f'error: {err}')
    print(f'wrote a synthetic Cityscapes set ({args.train} train / {args.val} '
          f'val, {args.size[0]}x{args.size[1]}) to {root} in '
          f'{time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
