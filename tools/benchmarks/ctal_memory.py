"""Peak memory of CTAL's chunked diffusion against the naive HW x HW one.

Builds a ``CTALModule`` with 3 tasks at the paper's NYUv2 affinity size
(72 x 96, f = 3) and runs the diffusion (intra-task affinities, interleaved
grouped convs, ``F^p G^T``) with each implementation, forward only
(``--mode infer``) and forward + backward (``--mode train``). Prints, per
mode, the peak memory each needs above what the inputs and weights already
hold, their ratio (goal <= 0.5) and the max abs difference of the outputs
(goal <= 1e-5).

On CUDA the peaks come from ``torch.cuda.max_memory_allocated``; on CPU
each implementation runs in a fresh subprocess that resets the kernel's
peak-RSS counter just before the call (``/proc/self/clear_refs``) and reads
``VmHWM`` after it, since CPU tensors bypass Python's allocator (tracemalloc
does not see them). The CPU run takes minutes (the naive grouped conv and
its backward at HW = 6912); ``--size 36 48`` gives a quick check.

Measured (batch 1): CPU ratio 0.215 infer / 0.221 train; H100 0.162 / 0.154
(0.167 / 0.161 at batch 8); max abs diff <= 5e-8.

Example:
    python tools/benchmarks/ctal_memory.py
    python tools/benchmarks/ctal_memory.py --size 36 48 --chunk-size 512
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
from typing import Optional, Sequence

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow
from _measure import ratio

import_nexusflow()
from nexusflow.baselines import CTALModule

TASKS = dict(semantic=13, depth=1, normal=3)


def parse_args(argv: Optional[Sequence[str]] = None
               ) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, nargs=2, default=(72, 96),
                        help='affinity resolution H W')
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--chunk-size', type=int, default=1024)
    parser.add_argument('--modes', nargs='+', default=('infer', 'train'),
                        choices=('infer', 'train'))
    parser.add_argument('--device', default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument('--worker', nargs=2, default=None,
                        metavar=('IMPL', 'MODE'), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def setup(args: argparse.Namespace, device: torch.device):
    """The module and its diffusion inputs, reproducible."""
    torch.manual_seed(0)
    module = CTALModule(TASKS, in_channels=args.channels, size=args.size,
                        chunk_size=args.chunk_size).to(device)
    shape = (args.batch, args.channels, *args.size)
    feats = [torch.randn(shape, device=device).relu() for _ in TASKS]
    projs = [torch.randn(shape, device=device) for _ in TASKS]
    return module, feats, projs


def diffuse(module: CTALModule, feats, projs, impl: str, mode: str):
    """Runs one implementation; backward of a sum in ``train`` mode."""
    fn = module.diffuse_efficient if impl == 'efficient' else \
        module.diffuse_naive
    if mode == 'infer':
        with torch.no_grad():
            return fn(feats, projs)
    feats = [f.requires_grad_() for f in feats]
    out = fn(feats, projs)
    sum(o.sum() for o in out).backward()
    return [o.detach() for o in out]


def _rss_kib(field: str) -> int:
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def cpu_worker(args: argparse.Namespace) -> None:
    """Prints the peak RSS increase (bytes) of one implementation."""
    impl, mode = args.worker
    torch.set_num_threads(max(1, torch.get_num_threads()))
    module, feats, projs = setup(args, torch.device('cpu'))
    # Warm-up on a tiny input loads the kernels outside the measurement.
    small = CTALModule(TASKS, in_channels=4, size=(2, 3))
    diffuse(small, [torch.rand(1, 4, 2, 3) for _ in TASKS],
            [torch.rand(1, 4, 2, 3) for _ in TASKS], impl, mode)
    before = _rss_kib('VmRSS')
    with open('/proc/self/clear_refs', 'w') as refs:
        refs.write('5')  # resets VmHWM to the current RSS
    diffuse(module, feats, projs, impl, mode)
    peak = _rss_kib('VmHWM')
    print(json.dumps(dict(peak=(peak - before) * 1024)))


def cpu_peak(impl: str, mode: str, args: argparse.Namespace) -> int:
    cmd = [sys.executable, osp.abspath(__file__), '--worker', impl, mode,
           '--size', *map(str, args.size), '--channels', str(args.channels),
           '--batch', str(args.batch), '--chunk-size', str(args.chunk_size)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])['peak']


def cuda_peak(impl: str, mode: str, args: argparse.Namespace,
              device: torch.device) -> int:
    module, feats, projs = setup(args, device)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    diffuse(module, feats, projs, impl, mode)
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - base


def main(argv: Optional[Sequence[str]] = None) -> Optional[dict]:
    """Measures both implementations per mode and prints the ratios.

    Args:
        argv (Sequence[str], optional): options (None: sys.argv).

    Returns:
        dict | None: ``modes`` (``{mode: naive_mib, efficient_mib, ratio,
        max_abs_diff}``) and ``ratios`` (memory ratio, goal 0.5; max abs
        difference, goal 1e-5); None in a ``--worker`` subprocess.
    """
    args = parse_args(argv)
    if args.worker is not None:
        cpu_worker(args)
        return None
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    hw = args.size[0] * args.size[1]
    print(f'CTAL diffusion, 3 tasks, {args.size[0]}x{args.size[1]} '
          f'(HW={hw}), C={args.channels}, batch {args.batch}, chunk '
          f'{args.chunk_size}, device {device}')
    modes, ratios = {}, []
    for mode in args.modes:
        if device.type == 'cuda':
            peaks = {i: cuda_peak(i, mode, args, device)
                     for i in ('naive', 'efficient')}
        else:
            peaks = {i: cpu_peak(i, mode, args)
                     for i in ('naive', 'efficient')}
        module, feats, projs = setup(args, device)
        naive = diffuse(module, feats, projs, 'naive', 'infer')
        fast = diffuse(module, feats, projs, 'efficient', 'infer')
        diff = max(float((a - b).abs().max()) for a, b in zip(naive, fast))
        del naive, fast
        mem_ratio = peaks['efficient'] / max(peaks['naive'], 1)
        print(f'[{mode}] peak naive {peaks["naive"] / 2**20:.1f} MiB, '
              f'efficient {peaks["efficient"] / 2**20:.1f} MiB, ratio '
              f'{mem_ratio:.3f} (goal <= 0.5: '
              f'{"met" if mem_ratio <= 0.5 else "NOT met"}); max abs diff '
              f'{diff:.2e} (goal <= 1e-5: '
              f'{"met" if diff <= 1e-5 else "NOT met"})')
        modes[mode] = dict(naive_mib=peaks['naive'] / 2**20,
                           efficient_mib=peaks['efficient'] / 2**20,
                           ratio=mem_ratio, max_abs_diff=diff)
        ratios += [ratio('efficient / naive peak memory ratio', mem_ratio,
                         0.5, mode),
                   ratio('max abs diff', diff, 1e-5, mode)]
    return dict(modes=modes, ratios=ratios)


if __name__ == '__main__':
    main()
