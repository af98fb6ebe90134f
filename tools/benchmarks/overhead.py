"""Training overhead of NexusFlow, and cost of the alignment losses.

1. One small two-task model, trained with and without ``NexusFlowWrapper``
   in one run, steps interleaved: best and median train-step time (CPU time
   of this process on CPU, wall time on CUDA) and peak memory of a step,
   printed as ratios (goal: <= 1.05 each). Peak memory is the allocator
   peak of ``torch.cuda`` on CUDA and, on CPU, the highest running total of
   the allocations the torch profiler records during one step.
2. Centroid vs pairwise alignment loss (forward + backward) for 2, 4, 8, 16
   tasks (goal: centroid grows linearly with the number of tasks).

Example:
    python tools/benchmarks/overhead.py
    python tools/benchmarks/overhead.py --per-task   # surrogates unbatched
    python tools/benchmarks/overhead.py --batch 8 --size 128 --steps 30
"""
import argparse
import os.path as osp
import statistics
import sys
from typing import Dict, List, Optional, Sequence

import torch
from torch import nn

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow
from _measure import clock, peak_step_memory, ratio, step_seconds

import_nexusflow()
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.structures import BaseDataElement

from mmdet3d.registry import MODELS
from nexusflow.core import CentroidAlignmentLoss, PairwiseAlignmentLoss

DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


@MODELS.register_module(force=True)
class BenchTwoTaskModel(BaseModel):
    """Conv encoder shared by a dense head and a pooled "detection" head.

    Args:
        channels (int): width of the encoder and heads.
    """

    def __init__(self, channels: int = 64) -> None:
        super().__init__()

        def block(cin: int, cout: int, stride: int = 1) -> nn.Module:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1),
                                 nn.BatchNorm2d(cout), nn.ReLU())

        self.encoder = nn.Sequential(
            block(3, channels, 2), block(channels, channels),
            block(channels, channels, 2), block(channels, channels))
        self.det_branch = nn.Sequential(block(channels, channels),
                                        block(channels, channels))
        self.det_out = nn.Conv2d(channels, 4, 1)
        self.seg_branch = nn.Sequential(block(channels, channels),
                                        block(channels, channels))
        self.seg_out = nn.Conv2d(channels, 1, 1)

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        """Two task losses.

        Args:
            inputs (Tensor): (B, 3, H, W) images.
            data_samples (list): samples with ``det_target`` (4,) and
                ``seg_target`` (1, H/4, W/4).

        Returns:
            dict: ``loss_det`` and ``loss_seg``.
        """
        feat = self.encoder(inputs)
        det = self.det_out(self.det_branch(feat)).mean(dim=(2, 3))
        seg = self.seg_out(self.seg_branch(feat))
        det_target = torch.stack([s.det_target for s in data_samples])
        seg_target = torch.stack([s.seg_target for s in data_samples])
        return dict(loss_det=(det - det_target).abs().mean(),
                    loss_seg=(seg - seg_target).pow(2).mean())

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """Only ``mode='loss'`` is benchmarked."""
        return self.loss(inputs, data_samples)


def make_batch(batch: int, size: int, mixed: bool) -> dict:
    """Random images/targets; half the samples seg-only when ``mixed``."""
    samples = []
    for index in range(batch):
        det_only = mixed and index % 2 == 1
        sample = BaseDataElement(metainfo=dict(
            task_mask=dict(det=True, seg=not det_only)))
        sample.det_target = torch.randn(4)
        sample.seg_target = torch.randn(1, size // 4, size // 4)
        samples.append(sample)
    return dict(inputs=torch.randn(batch, 3, size, size), data_samples=samples)


def build_models(channels: int, aggregator: str,
                 batched: bool = True) -> dict:
    """The bare model and the same model wrapped with NexusFlow (its
    surrogates batched over the tasks unless ``batched=False``)."""
    detector = dict(type='BenchTwoTaskModel', channels=channels)
    if aggregator == 'mlp':
        agg = dict(type='MLPAggregator', in_channels=channels, out_dim=64)
    else:
        agg = dict(type='DeformableAggregator', in_channels=channels,
                   out_dim=64)
    surrogate = dict(aggregator=agg, flow=dict(type='RealNVPFlow'))
    torch.manual_seed(0)
    bare = MODELS.build(detector)
    torch.manual_seed(0)
    wrapped = MODELS.build(dict(
        type='NexusFlowWrapper', detector=detector,
        taps=dict(det='det_branch', seg='seg_branch'),
        surrogates=dict(det=surrogate, seg=surrogate),
        alignment=dict(type='CentroidAlignmentLoss'),
        task_losses=dict(det=['loss_det'], seg=['loss_seg'])))
    wrapped.bank.batched = batched
    return dict(bare=bare.to(DEVICE), nexusflow=wrapped.to(DEVICE))


def bench_train(args: argparse.Namespace) -> Dict[str, dict]:
    """Step time and peak memory, with vs without NexusFlow.

    Args:
        args (argparse.Namespace): the command line.

    Returns:
        dict[str, dict]: per task-mask setting, ``{best|median|memory:
        {bare, nexusflow, ratio}}`` (ms, MiB).
    """
    models = build_models(args.channels, args.aggregator,
                          not args.per_task)
    optims = {
        name: OptimWrapper(torch.optim.SGD(m.parameters(), lr=1e-3))
        for name, m in models.items()
    }
    print(f'== train step on {DEVICE.type} ({torch.get_num_threads()} '
          f'threads): batch {args.batch}, '
          f'{args.size}x{args.size}, {args.channels} channels, '
          f'{args.aggregator} aggregator, RealNVP 6 layers, surrogates '
          f'{"per task" if args.per_task else "batched over the tasks"} ==')
    settings = {}
    for mixed in (False, True):
        data = make_batch(args.batch, args.size, mixed)
        times = {name: [] for name in models}
        for _ in range(args.warmup):
            for name in models:
                step_seconds(models[name], optims[name], data, DEVICE)
        for _ in range(args.steps):
            for name in models:  # interleaved, so drift hits both alike
                times[name].append(step_seconds(models[name], optims[name],
                                                data, DEVICE))
        memory = {
            name: peak_step_memory(models[name], optims[name], data, DEVICE)
            for name in models
        }
        stats = dict(best={n: min(t) * 1e3 for n, t in times.items()},
                     median={n: statistics.median(t) * 1e3
                             for n, t in times.items()},
                     memory={n: m / 2**20 for n, m in memory.items()})
        for value in stats.values():
            value['ratio'] = value['nexusflow'] / value['bare']
        label = ('mixed task masks (2 groups)' if mixed else
                 'one task mask per batch')
        settings[label] = stats
        print(f'-- {label}')
        for stat in ('best', 'median'):
            value = stats[stat]
            print(f'   step time ({stat:>6}) bare {value["bare"]:8.2f} '
                  f'ms  nexusflow {value["nexusflow"]:8.2f} ms  ratio '
                  f'{value["ratio"]:.3f} (goal <= 1.05; '
                  f'{value["nexusflow"] - value["bare"]:+.1f} ms)')
        value = stats['memory']
        print(f'   peak memory     bare {value["bare"]:8.2f} MiB '
              f'nexusflow {value["nexusflow"]:8.2f} MiB '
              f'ratio {value["ratio"]:.3f} (goal <= 1.05; '
              f'{value["nexusflow"] - value["bare"]:+.2f} MiB)')
    return settings


def bench_alignment(args: argparse.Namespace) -> Dict[str, dict]:
    """Forward+backward time of both losses per number of tasks.

    Args:
        args (argparse.Namespace): the command line.

    Returns:
        dict[str, dict]: ``{centroid|pairwise: {number of tasks: ms}}``.
    """
    print(f'== alignment loss, forward + backward: batch '
          f'{args.align_batch}, latent {args.latent_dim}, median of '
          f'{args.repeats} ==')
    losses = dict(centroid=CentroidAlignmentLoss(),
                  pairwise=PairwiseAlignmentLoss())
    results = {name: {} for name in losses}
    for num_tasks in args.tasks:
        latents = {
            f'task{i}': torch.randn(args.align_batch, args.latent_dim,
                                    device=DEVICE, requires_grad=True)
            for i in range(num_tasks)
        }
        for name, loss_fn in losses.items():
            times = []
            for _ in range(args.warmup):
                loss_fn(latents).backward()
            for _ in range(args.repeats):
                start = clock(DEVICE)
                loss_fn(latents).backward()
                times.append(clock(DEVICE) - start)
            results[name][num_tasks] = statistics.median(times) * 1e3
    first = args.tasks[0]
    print(f'{"tasks":>5} {"centroid ms":>12} {"x vs " + str(first):>9} '
          f'{"pairwise ms":>12} {"x vs " + str(first):>9} '
          f'{"pair/cent":>9}')
    cents, pairs = results['centroid'], results['pairwise']
    for num_tasks in args.tasks:
        cent, pair = cents[num_tasks], pairs[num_tasks]
        print(f'{num_tasks:>5} {cent:>12.3f} {cent / cents[first]:>9.2f} '
              f'{pair:>12.3f} {pair / pairs[first]:>9.2f} '
              f'{pair / cent:>9.2f}')
    last = args.tasks[-1]
    growth = last * (last - 1) / (first * (first - 1))
    print(f'(from {first} to {last} tasks, linear growth is x'
          f'{last / first:.0f}, growth with the number of pairs x'
          f'{growth:.0f})')
    return results


def goal_ratios(train: Dict[str, dict], align: Dict[str, dict],
                tasks: Sequence[int]) -> List[dict]:
    """The ratios of both parts, with their goals.

    Args:
        train (dict): :func:`bench_train`'s result (empty when skipped).
        align (dict): :func:`bench_alignment`'s result.
        tasks (Sequence[int]): the numbers of tasks, first to last.

    Returns:
        list[dict]: the :func:`_measure.ratio` entries: every train ratio
        (goal 1.05), and the alignment losses' growth from the first to
        the last number of tasks (centroid: at most linear).
    """
    out = []
    for label, stats in train.items():
        for stat, name in (('best', 'step time ratio (best)'),
                           ('median', 'step time ratio (median)'),
                           ('memory', 'peak memory ratio')):
            out.append(ratio(name, stats[stat]['ratio'], 1.05, label))
    first, last = tasks[0], tasks[-1]
    heading = f'alignment loss time, {last} tasks / {first} tasks'
    cents, pairs = align['centroid'], align['pairwise']
    out.append(ratio('centroid growth ratio', cents[last] / cents[first],
                     last / first, heading))
    out.append(ratio('pairwise growth ratio', pairs[last] / pairs[first],
                     section=heading))
    return out


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=192,
                        help='input height and width')
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--aggregator', choices=['mlp', 'deformable'],
                        default='mlp')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--align-batch', type=int, default=64)
    parser.add_argument('--latent-dim', type=int, default=1024)
    parser.add_argument('--tasks', type=int, nargs='+', default=[2, 4, 8, 16])
    parser.add_argument('--repeats', type=int, default=50)
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads (1 keeps CPU timings stable)')
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--per-task', action='store_true',
                        help='run each task\'s surrogate on its own (the '
                        'path before batching), for comparison')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Runs both parts and prints their tables.

    Args:
        argv (Sequence[str], optional): options (None: sys.argv).

    Returns:
        dict: ``train`` (:func:`bench_train`, empty with
        ``--skip-train``), ``alignment`` (:func:`bench_alignment`) and
        ``ratios``.
    """
    args = parse_args(argv)
    if min(args.tasks) < 2:
        raise SystemExit('error: --tasks must all be >= 2 (alignment needs '
                         'two tasks)')
    if DEVICE.type == 'cpu':
        torch.set_num_threads(args.threads)
    train = {} if args.skip_train else bench_train(args)
    align = bench_alignment(args)
    return dict(train=train, alignment=align,
                ratios=goal_ratios(train, align, args.tasks))


if __name__ == '__main__':
    main()
