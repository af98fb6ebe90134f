"""Train-step time and peak memory of the dense partial-label methods.

Builds each method's model from its NYUv2 SegNet config
(``configs/dense/nyuv2_segnet_<method>_full.py``: MTL, MTPSL, JTR, CTAL-SS,
NexusFlow) at a small size, once with 2 tasks (semantic, depth) and once
with 3 (+ normal), and times full training steps (``train_step``: forward,
losses, backward, Adam update) on one random batch. Adam runs its
multi-tensor (``foreach``) implementation on every device, as it does by
default on CUDA (on CPU torch defaults to a loop over the parameters,
whose per-tensor cost would count the surrogates' many small tensors
several times over). Prints, per number of
tasks, each method's step time and peak memory as ratios to MTL, then how
each grows from 2 to 3 tasks.

Time: the best of ``--steps`` steps, the methods' steps interleaved
(interference from other processes only adds time, and drift hits every
method alike). A method's time ratio to MTL is the median over rounds of
its step time over MTL's step of the same round: a lucky or disturbed
single step moves it far less than it moves a ratio of two best steps
(this machine's step times vary by ~10% between runs).
CPU time of this process on CPU (one thread by default,
which a shared machine disturbs far less than wall time), wall time on
CUDA. Peak memory: the model's parameters, buffers and Adam state, plus
the most one step allocates above what already exists -- on CUDA from
``torch.cuda.max_memory_allocated``; on CPU the highest running total of
the allocation / free events that the torch profiler records from
PyTorch's CPU allocator (tensor storage only; oneDNN's internal scratch
buffers are not seen). Grads are freed between steps, so they count in the
step peak.

Labels: ``full`` (default) gives MTPSL its most pairs, n (n - 1) per
sample; ``onelabel`` labels one task per sample, as in the benchmarks.

Measured (defaults: 96x128, batch 2, full labels; CPU, 1 thread, about
4 min; ``--quick`` about 1 min), time / memory ratio to MTL:
2 tasks MTPSL 2.14 / 1.59, JTR 2.81 / 1.97, CTAL-SS 1.56 / 1.24,
NexusFlow 1.00 / 1.05; 3 tasks MTPSL 4.29 / 2.41, JTR 2.48 / 1.81,
CTAL-SS 1.79 / 1.32, NexusFlow 1.02 / 1.06. Growth from 2 to 3 tasks
(time / memory): MTL 1.29 / 1.20, MTPSL 2.56 / 1.83 (pairs 2 -> 6),
JTR 1.12 / 1.11, CTAL-SS 1.44 / 1.28, NexusFlow 1.28 / 1.21.

Example:
    python tools/benchmarks/methods_dense.py
    python tools/benchmarks/methods_dense.py --size 288 384 --batch 4
    python tools/benchmarks/methods_dense.py --quick
"""
import argparse
import os.path as osp
import statistics
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow
from _measure import clock, peak_step_memory, ratio

import_nexusflow()
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement

from mmdet3d.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'dense', 'nyuv2_segnet_{}_full.py')
METHODS = ('mtl', 'mtpsl', 'jtr', 'ctal-ss', 'nexusflow')
TASK_SETS = (('semantic', 'depth'), ('semantic', 'depth', 'normal'))
NUM_CLASSES = 13
# NexusFlow's step time over MTL's: the surrogates' overhead (issue 14).
NEXUSFLOW_TIME_GOAL = 1.05


def model_config(method: str, tasks: Sequence[str], size: Tuple[int, int],
                 channels: Sequence[int]) -> dict:
    """The method's NYUv2 SegNet model config for ``tasks`` and a size.

    Args:
        method (str): config name part (``mtl``, ``jtr``, ...).
        tasks (Sequence[str]): the tasks to keep.
        size (tuple[int, int]): input (H, W); CTAL's affinities at 1/4.
        channels (Sequence[int]): SegNet stage widths, also used by JTR's
            auto-encoder and (first three) MTPSL's mapping network.

    Returns:
        dict: a ``DenseMTLModel`` config.
    """
    path = CONFIG.format(method)
    if not osp.isfile(path):
        raise SystemExit(f'error: no config for method {method!r}: {path}')
    cfg = Config.fromfile(path).model.to_dict()
    cfg['tasks'] = {task: cfg['tasks'][task] for task in tasks}
    cfg['backbone'] = dict(cfg['backbone'], channels=tuple(channels))
    regularizer = cfg.get('regularizer')
    if regularizer is not None and regularizer['type'] == 'JTRLoss':
        regularizer['channels'] = tuple(channels)
    elif regularizer is not None and regularizer['type'] == 'MTPSLLoss':
        regularizer['channels'] = tuple(channels[:3])
        regularizer['feat_channels'] = channels[0]
    if cfg.get('refiner') is not None:
        cfg['refiner']['size'] = (size[0] // 4, size[1] // 4)
    if cfg.get('neck') is not None:  # NexusFlowNeck: one surrogate a task
        neck = cfg['neck']
        neck['surrogates'] = {task: neck['surrogates'][task]
                              for task in tasks}
        for surrogate in neck['surrogates'].values():
            surrogate['aggregator']['in_channels'] = channels[0]
    return cfg


def make_batch(tasks: Sequence[str], batch: int, size: Tuple[int, int],
               labels: str, device: torch.device) -> dict:
    """Random images and targets; ``onelabel`` labels task i % n of
    sample i."""
    gen = torch.Generator().manual_seed(0)
    samples = []
    for index in range(batch):
        mask = {task: labels == 'full' or i == index % len(tasks)
                for i, task in enumerate(tasks)}
        sample = BaseDataElement(metainfo=dict(task_mask=mask))
        if mask.get('semantic'):
            sample.gt_semantic = torch.randint(-1, NUM_CLASSES, size,
                                               generator=gen)
        if mask.get('depth'):
            sample.gt_depth = torch.rand((1, ) + size, generator=gen) + 0.5
        if mask.get('normal'):
            normal = torch.randn((3, ) + size, generator=gen)
            sample.gt_normal = normal / normal.norm(dim=0, keepdim=True)
        samples.append(sample.to(device))
    inputs = [torch.rand((3, ) + size, generator=gen).to(device)
              for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def measure(methods: Sequence[str], tasks: Sequence[str],
            args: argparse.Namespace,
            device: torch.device) -> Dict[str, Dict[str, float]]:
    """Best step seconds, median step-time ratio to MTL (paired by
    round), peak bytes and parameter count of each method on one batch of
    ``tasks`` (``methods`` includes ``mtl``)."""
    size = tuple(args.size)
    data = make_batch(tasks, args.batch, size, args.labels, device)
    runs = {}
    for method in methods:
        torch.manual_seed(0)
        model = MODELS.build(model_config(method, tasks, size,
                                          args.channels)).to(device)
        model.train()
        runs[method] = (model,
                        OptimWrapper(
                            torch.optim.Adam(model.parameters(), lr=1e-4,
                                             foreach=True)))
    for _ in range(args.warmup):
        for model, optim in runs.values():
            model.train_step(data, optim)
    times = {method: [] for method in methods}
    for _ in range(args.steps):
        # Interleaved, so drift of a shared machine hits every method.
        for method, (model, optim) in runs.items():
            start = clock(device)
            model.train_step(data, optim)
            times[method].append(clock(device) - start)
    results = {}
    for method, (model, optim) in runs.items():
        paired = [t / m for t, m in zip(times[method], times['mtl'])]
        results[method] = dict(
            time=min(times[method]),
            time_ratio=statistics.median(paired),
            memory=peak_step_memory(model, optim, data, device, static=True),
            params=sum(p.numel() for p in model.parameters()))
    del runs, data
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return results


def tabulate(results: Dict[Tuple[str, int], Dict[str, float]],
             methods: Sequence[str]) -> dict:
    """The measured numbers as rows relative to MTL, and the growth.

    Args:
        results (dict): ``{(method, number of tasks): time, memory,
            params}`` of :func:`measure`.
        methods (Sequence[str]): the methods, MTL first.

    Returns:
        dict: ``rows``, one per task set and method (``tasks``,
        ``method``, ``time_ms``, ``time_ratio``, ``memory_mib``,
        ``memory_ratio``, ``params_m``), and ``growth``, one per method
        (``time_ratio``, ``memory_ratio``, ``params_ratio`` from the first
        to the last task set).
    """
    rows = []
    for tasks in TASK_SETS:
        base = results['mtl', len(tasks)]
        for method in methods:
            res = results[method, len(tasks)]
            rows.append(dict(
                tasks=list(tasks), method=method, time_ms=res['time'] * 1e3,
                time_ratio=res['time_ratio'],
                memory_mib=res['memory'] / 2**20,
                memory_ratio=res['memory'] / base['memory'],
                params_m=res['params'] / 1e6))
    first, last = (len(t) for t in TASK_SETS)
    growth = []
    for method in methods:
        small, large = results[method, first], results[method, last]
        growth.append(dict(
            method=method, time_ratio=large['time'] / small['time'],
            memory_ratio=large['memory'] / small['memory'],
            params_ratio=large['params'] / small['params']))
    return dict(rows=rows, growth=growth)


def section(tasks: Sequence[str]) -> str:
    """The heading of a task set's rows."""
    return f'{len(tasks)} tasks ({", ".join(tasks)}), relative to MTL'


def growth_section() -> str:
    """The heading of the growth rows."""
    first, last = (len(t) for t in TASK_SETS)
    return (f'growth from {first} to {last} tasks (value at {last} / value '
            f'at {first})')


def report(table: dict) -> List[str]:
    """The printed lines of :func:`tabulate`'s rows: per task set, each
    method relative to MTL; then the growth from 2 to 3 tasks."""
    lines, heading = [], None
    for row in table['rows']:
        if section(row['tasks']) != heading:
            heading = section(row['tasks'])
            lines.append(f'-- {heading}')
        goal = time_goal(row['method'])
        lines.append(
            f'   {row["method"]:<10} step {row["time_ms"]:9.1f} ms  time '
            f'ratio {row["time_ratio"]:5.2f}   peak '
            f'{row["memory_mib"]:8.1f} MiB  memory ratio '
            f'{row["memory_ratio"]:5.2f}   params {row["params_m"]:6.2f} M'
            + ('' if goal is None else f'   (time goal <= {goal})'))
    lines.append(f'-- {growth_section()}')
    for row in table['growth']:
        lines.append(
            f'   {row["method"]:<10} time ratio {row["time_ratio"]:5.2f}'
            f'   memory ratio {row["memory_ratio"]:5.2f}   '
            f'params ratio {row["params_ratio"]:5.2f}')
    return lines


def time_goal(method: str) -> Optional[float]:
    """The most a method's time ratio to MTL may be (NexusFlow only)."""
    return NEXUSFLOW_TIME_GOAL if method == 'nexusflow' else None


def ratios(table: dict) -> List[dict]:
    """Every ratio of :func:`tabulate`'s rows; the one goal is NexusFlow's
    time ratio to MTL (the baselines' costs are measured, not bounded).

    Args:
        table (dict): ``rows`` and ``growth``.

    Returns:
        list[dict]: the :func:`_measure.ratio` entries.
    """
    out = []
    for row in table['rows']:
        for key in ('time_ratio', 'memory_ratio'):
            goal = time_goal(row['method']) if key == 'time_ratio' else None
            out.append(ratio(f'{row["method"]} {key.replace("_", " ")}',
                             row[key], goal, section(row['tasks'])))
    for row in table['growth']:
        for key in ('time_ratio', 'memory_ratio', 'params_ratio'):
            out.append(ratio(f'{row["method"]} {key.replace("_", " ")}',
                             row[key], section=growth_section()))
    return out


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, nargs=2, default=(96, 128),
                        metavar=('H', 'W'), help='input size')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--channels', type=int, nargs='+',
                        default=(64, 128, 256, 512, 512),
                        help='SegNet stage widths')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        help='methods besides MTL (always included)')
    parser.add_argument('--labels', choices=('full', 'onelabel'),
                        default='full')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads (1 keeps CPU timings stable)')
    parser.add_argument('--device', default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument('--quick', action='store_true',
                        help='64x96, 1 warm-up and 5 timed steps')
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.warmup, args.steps = (64, 96), 1, 5
    return args


def check_args(args: argparse.Namespace) -> None:
    """Exits with one line on settings the models cannot run."""
    stride = 2**len(args.channels)
    if len(args.channels) < 2 or min(args.channels) < 1:
        raise SystemExit('error: --channels needs at least two widths >= 1')
    if any(s % stride or s < stride for s in args.size):
        raise SystemExit(f'error: --size {args.size[0]} {args.size[1]} must '
                         f'be multiples of {stride} (2 ** number of '
                         f'--channels stages)')
    if min(args.batch, args.steps) < 1 or args.warmup < 1:
        raise SystemExit('error: --batch, --steps and --warmup must be >= 1 '
                         '(the warm-up creates the Adam state)')
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        raise SystemExit(f'error: --methods must be among {list(METHODS)}, '
                         f'got {unknown}')


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Measures every method with 2 and 3 tasks and prints the table.

    Args:
        argv (Sequence[str], optional): options (None: sys.argv).

    Returns:
        dict: ``rows`` and ``growth`` of :func:`tabulate` and ``ratios``.
    """
    args = parse_args(argv)
    check_args(args)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cpu':
        torch.set_num_threads(args.threads)
    init_default_scope('mmdet3d')
    methods = ['mtl'] + [m for m in args.methods if m != 'mtl']
    threads = torch.get_num_threads()
    where = (f'{device.type} ({threads} thread{"s" * (threads > 1)})'
             if device.type == 'cpu' else torch.cuda.get_device_name(device))
    print(f'== dense methods, SegNet-MTAN {tuple(args.channels)}: '
          f'{args.size[0]}x{args.size[1]}, batch {args.batch}, '
          f'{args.labels} labels, best of {args.steps} steps, {where} ==')
    results = {}
    for tasks in TASK_SETS:
        for method, res in measure(methods, tasks, args, device).items():
            results[method, len(tasks)] = res
    table = tabulate(results, methods)
    print('\n'.join(report(table)))
    print('(memory: parameters + buffers + Adam state + the step\'s peak '
          'allocations; ' + ('torch.cuda.max_memory_allocated'
                             if device.type == 'cuda' else
                             'CPU allocator events of the torch profiler')
          + ')')
    return dict(table, ratios=ratios(table))


if __name__ == '__main__':
    main()
