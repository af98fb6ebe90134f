"""Speed of BEVMapIoUMetric over a nuScenes-val-sized evaluation.

Feeds ``--samples`` (default 6,019, the nuScenes val size) synthetic samples
of 4 x 200 x 200 float prediction / uint8 GT masks through
``process()`` in batches, as the test loop does, then ``evaluate()``, and
prints the time and its ratio to the goal (default 10 s; ratio <= 1 meets
it). Masks are drawn from a small pool so that generating them is not
timed and memory stays flat.

Example:
    python tools/benchmarks/map_iou.py
    python tools/benchmarks/map_iou.py --samples 1000 --size 100
"""
import argparse
import os.path as osp
import sys
import time
from typing import Optional, Sequence

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow
from _measure import ratio

import_nexusflow()
from nexusflow.evaluation import BEVMapIoUMetric

LOCATIONS = ('boston-seaport', 'singapore-onenorth', 'singapore-queenstown',
             'singapore-hollandvillage')


def make_pool(pool: int, size: int, seed: int) -> list:
    """Random blob-like prediction/GT mask pairs, (4, size, size) each."""
    gen = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(pool):
        # Upsampled noise gives blobs, like rasterized map elements.
        low = torch.rand(1, 4, size // 8, size // 8, generator=gen)
        gt = torch.nn.functional.interpolate(
            low, size=(size, size), mode='bilinear')[0] > 0.6
        noise = torch.rand(4, size, size, generator=gen) - 0.5
        pred = (gt.float() * 0.8 + 0.1 + noise).clamp(0, 1)
        pairs.append((pred, gt.to(torch.uint8)))
    return pairs


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Times the metric over the samples and prints the ratio to the goal.

    Args:
        argv (Sequence[str], optional): options (None: sys.argv).

    Returns:
        dict: ``samples``, ``seconds``, ``ms_per_sample``, ``iou_lanes``
        (a sanity value), ``goal_s`` and ``ratios`` (time / goal).
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--samples', type=int, default=6019)
    parser.add_argument('--size', type=int, default=200,
                        help='BEV canvas height and width in pixels')
    parser.add_argument('--batch', type=int, default=1,
                        help='samples per process() call')
    parser.add_argument('--pool', type=int, default=32,
                        help='distinct synthetic samples, cycled')
    parser.add_argument('--goal', type=float, default=10.0,
                        help='goal in seconds')
    args = parser.parse_args(argv)

    pool = make_pool(args.pool, args.size, seed=0)
    metric = BEVMapIoUMetric()
    start = time.perf_counter()
    for first in range(0, args.samples, args.batch):
        batch = []
        for i in range(first, min(first + args.batch, args.samples)):
            pred, gt = pool[i % len(pool)]
            batch.append(
                dict(
                    token=f'sample{i}',
                    location=LOCATIONS[i % len(LOCATIONS)],
                    pred_map=dict(masks=pred),
                    gt_map=dict(masks=gt)))
        metric.process({}, batch)
    results = metric.evaluate(args.samples)
    elapsed = time.perf_counter() - start

    print(f'BEVMapIoUMetric: {args.samples} samples of 4 x {args.size} x '
          f'{args.size}, batch {args.batch}, '
          f'{torch.get_num_threads()} torch threads')
    print(f"  lanes IoU {results['map/iou_lanes']:.4f} (sanity)")
    print(f'  time {elapsed:.2f} s, {1e3 * elapsed / args.samples:.3f} '
          f'ms/sample')
    print(f'  ratio to the {args.goal:g} s goal: {elapsed / args.goal:.3f} '
          f'({"meets" if elapsed <= args.goal else "misses"} the goal)')
    return dict(samples=args.samples, seconds=elapsed,
                ms_per_sample=1e3 * elapsed / args.samples,
                iou_lanes=float(results['map/iou_lanes']), goal_s=args.goal,
                ratios=[ratio(f'time / {args.goal:g} s goal ratio',
                              elapsed / args.goal, 1.0)])


if __name__ == '__main__':
    main()
