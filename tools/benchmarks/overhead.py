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
    python tools/benchmarks/overhead.py --batch 8 --size 128 --steps 30
"""
import argparse
import os.path as osp
import statistics
import sys

import torch
from torch import nn

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow  # noqa: E402
from _measure import clock, peak_step_memory, step_seconds  # noqa: E402

import_nexusflow()
from mmengine.model import BaseModel  # noqa: E402
from mmengine.optim import OptimWrapper  # noqa: E402
from mmengine.structures import BaseDataElement  # noqa: E402

from mmdet3d.registry import MODELS  # noqa: E402
from nexusflow.core import CentroidAlignmentLoss, PairwiseAlignmentLoss  # noqa: E402

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


def build_models(channels: int, aggregator: str) -> dict:
    """The bare model and the same model wrapped with NexusFlow."""
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
    return dict(bare=bare.to(DEVICE), nexusflow=wrapped.to(DEVICE))


def bench_train(args: argparse.Namespace) -> None:
    """Prints step time and peak memory, with vs without NexusFlow."""
    models = build_models(args.channels, args.aggregator)
    optims = {
        name: OptimWrapper(torch.optim.SGD(m.parameters(), lr=1e-3))
        for name, m in models.items()
    }
    print(f'== train step on {DEVICE.type} ({torch.get_num_threads()} '
          f'threads): batch {args.batch}, '
          f'{args.size}x{args.size}, {args.channels} channels, '
          f'{args.aggregator} aggregator, RealNVP 6 layers ==')
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
        best = {name: min(t) for name, t in times.items()}
        median = {name: statistics.median(t) for name, t in times.items()}
        memory = {
            name: peak_step_memory(models[name], optims[name], data, DEVICE)
            for name in models
        }
        label = ('mixed task masks (2 groups)' if mixed else
                 'one task mask per batch')
        print(f'-- {label}')
        for stat, value in (('best', best), ('median', median)):
            extra = value['nexusflow'] - value['bare']
            print(f'   step time ({stat:>6}) bare {value["bare"] * 1e3:8.2f} '
                  f'ms  nexusflow {value["nexusflow"] * 1e3:8.2f} ms  ratio '
                  f'{value["nexusflow"] / value["bare"]:.3f} (goal <= 1.05; '
                  f'{extra * 1e3:+.1f} ms)')
        print(f'   peak memory     bare {memory["bare"] / 2**20:8.2f} MiB '
              f'nexusflow {memory["nexusflow"] / 2**20:8.2f} MiB '
              f'ratio {memory["nexusflow"] / memory["bare"]:.3f} '
              f'(goal <= 1.05; '
              f'{(memory["nexusflow"] - memory["bare"]) / 2**20:+.2f} MiB)')


def bench_alignment(args: argparse.Namespace) -> None:
    """Prints forward+backward time of both losses per number of tasks."""
    print(f'== alignment loss, forward + backward: batch '
          f'{args.align_batch}, latent {args.latent_dim}, median of '
          f'{args.repeats} ==')
    losses = dict(centroid=CentroidAlignmentLoss(),
                  pairwise=PairwiseAlignmentLoss())
    results = {}
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
            results[name, num_tasks] = statistics.median(times)
    first = args.tasks[0]
    print(f'{"tasks":>5} {"centroid ms":>12} {"x vs " + str(first):>9} '
          f'{"pairwise ms":>12} {"x vs " + str(first):>9} '
          f'{"pair/cent":>9}')
    for num_tasks in args.tasks:
        cent, pair = results['centroid', num_tasks], results['pairwise',
                                                             num_tasks]
        print(f'{num_tasks:>5} {cent * 1e3:>12.3f} '
              f'{cent / results["centroid", first]:>9.2f} '
              f'{pair * 1e3:>12.3f} '
              f'{pair / results["pairwise", first]:>9.2f} '
              f'{pair / cent:>9.2f}')
    last = args.tasks[-1]
    pairs = last * (last - 1) / (first * (first - 1))
    print(f'(from {first} to {last} tasks, linear growth is x'
          f'{last / first:.0f}, growth with the number of pairs x'
          f'{pairs:.0f})')


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if min(args.tasks) < 2:
        raise SystemExit('error: --tasks must all be >= 2 (alignment needs '
                         'two tasks)')
    if DEVICE.type == 'cpu':
        torch.set_num_threads(args.threads)
    if not args.skip_train:
        bench_train(args)
    bench_alignment(args)


if __name__ == '__main__':
    main()
