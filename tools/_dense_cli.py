"""The command line shared by create_synthetic_nyuv2.py and
create_synthetic_cityscapes.py."""
import argparse
import time
from typing import Callable, Tuple


def run_synthetic_dense(name: str, create: Callable, size: Tuple[int, int],
                        doc: str) -> None:
    """Parses ``--out --train --val --size --seed`` and writes the set.

    Args:
        name (str): dataset name for messages.
        create (callable): ``create(out, train, val, size, seed) -> root``.
        size (tuple[int, int]): default (H, W).
        doc (str): the script's docstring (first line = description).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--out', required=True, help='data root to write')
    parser.add_argument('--train', type=int, default=8,
                        help='number of training images')
    parser.add_argument('--val', type=int, default=4,
                        help='number of validation images')
    parser.add_argument('--size', type=int, nargs=2, default=size,
                        metavar=('H', 'W'), help='image size')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if min(args.train, args.val, *args.size) < 1:
        raise SystemExit('error: --train, --val and --size must be >= 1')
    start = time.time()
    try:
        root = create(args.out, args.train, args.val, tuple(args.size),
                      args.seed)
    except (ValueError, OSError) as err:
        raise SystemExit(f'error: {err}')
    print(f'wrote a synthetic {name} set ({args.train} train / {args.val} '
          f'val, {args.size[0]}x{args.size[1]}) to {root} in '
          f'{time.time() - start:.1f} s')
