"""Training cost of the UniAD comparison methods on the tiny model.

Baseline, NexusFlow (alignment on, lambda 0.1), MTPSL and JTR, built from
their ``configs/nexusflow/uniad_*_domainsplit_tiny.py`` configs, each train
the same batch (one Boston and one Singapore clip of the synthetic set,
so both tasks are partly labeled) with steps interleaved. Printed: best and
median train-step time relative to the baseline, and peak training memory
(static + transient, see ``_measure.py``) relative to the baseline and to
MTPSL. Goals: NexusFlow <= 1.05x baseline time; NexusFlow <= 0.5x MTPSL
memory.

MTPSL's and JTR's cost grows with the BEV grid they compare the tasks on
(48 x 48 in the tiny configs, 200 x 200 at full size) and with the widths
of their networks; ``--grid`` sets the grid, ``--full-regularizers`` takes
grid and widths from the full-size configs (on the tiny host).

Example:
    python tools/benchmarks/methods.py
    python tools/benchmarks/methods.py --grid 200 --steps 10
    python tools/benchmarks/methods.py --full-regularizers
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import sys
from typing import Dict, Optional, Sequence

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import import_nexusflow
from _measure import peak_step_memory, ratio, step_seconds

import_nexusflow()
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

from mmdet3d.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    baseline='uniad_baseline_domainsplit_tiny.py',
    nexusflow='uniad_domainsplit_tiny.py',
    mtpsl='uniad_mtpsl_domainsplit_tiny.py',
    jtr='uniad_jtr_domainsplit_tiny.py')
DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def load(method: str, tiny: bool = True) -> Config:
    """The method's tiny (or full-size) config."""
    name = CONFIGS[method] if tiny else CONFIGS[method].replace('_tiny', '')
    return Config.fromfile(osp.join(REPO, 'configs', 'nexusflow', name))


def build_model(method: str, grid: int = 0, full_regularizer: bool = False):
    """The method's model, seeded, on DEVICE, in training mode.

    Args:
        method (str): a key of CONFIGS.
        grid (int): regularizer grid side (MTPSL/JTR); 0 keeps the config's.
        full_regularizer (bool): MTPSL/JTR networks and grid of the
            full-size config (the shared-feature width stays the host's).
    """
    cfg = load(method).model
    if cfg.get('neck') is not None:
        # The hook would set lambda during stage 2; here it is on throughout.
        cfg.neck.align_weight = 0.1
    if cfg.get('regularizer') is not None and full_regularizer:
        full = load(method, tiny=False).model
        full.regularizer.pop('feat_channels', None)
        cfg.regularizer.update(full.regularizer)
        cfg.regularizer_grid = full.regularizer_grid
    if cfg.get('regularizer') is not None and grid:
        cfg.regularizer_grid = (grid, grid)
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model.to(DEVICE).train()


def make_batch(clips: int) -> dict:
    """Collated clips (``train_step`` preprocesses them) alternating Boston
    (map labels only) and Singapore (track labels only) from the
    domain-split training set."""
    cfg = load('baseline')
    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    by_city = {}
    for index in range(len(dataset)):
        location = dataset.get_data_info(index)['location']
        by_city.setdefault(location.split('-')[0], []).append(index)
    if set(by_city) < {'boston', 'singapore'}:
        raise SystemExit(f'error: the data has no Boston and Singapore '
                         f'clips (cities: {sorted(by_city)})')
    order = [by_city['boston'], by_city['singapore']]
    items = [dataset[order[i % 2][i // 2 % len(order[i % 2])]]
             for i in range(clips)]
    return pseudo_collate(items)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=None,
                        help='synthetic nuScenes root (default: '
                        '$SYNTHETIC_NUSCENES or data/synthetic_nuscenes)')
    parser.add_argument('--clips', type=int, default=2,
                        help='clips per batch (alternating cities)')
    parser.add_argument('--grid', type=int, default=0,
                        help='MTPSL/JTR grid side (0: the configs\' 48)')
    parser.add_argument('--full-regularizers', action='store_true',
                        help='MTPSL/JTR widths and grid of the full-size '
                        'configs')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--steps', type=int, default=6)
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads (1 keeps CPU timings stable)')
    parser.add_argument('--quick', action='store_true',
                        help='1 warm-up and 2 timed steps')
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup, args.steps = 1, 2
    if args.clips < 2 or args.steps < 1 or args.warmup < 0 or \
            args.grid < 0 or args.grid % 8:
        parser.error('--clips >= 2, --steps >= 1, --warmup >= 0 and --grid '
                     'a multiple of 8 (the regularizers pool it 3 times) '
                     'are required')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Measures every method and prints the table.

    Args:
        argv (Sequence[str], optional): options (None: sys.argv).

    Returns:
        dict: ``rows`` (``{method: params, best_ms, best_ratio, median_ms,
        median_ratio, memory_mib, memory_ratio, mtpsl_ratio}``, ratios to
        the baseline and to MTPSL) and ``ratios`` (the two goals).
    """
    args = parse_args(argv)
    if args.data_root:
        os.environ['SYNTHETIC_NUSCENES'] = args.data_root.rstrip('/')
    root = os.environ.get('SYNTHETIC_NUSCENES',
                          osp.join(REPO, 'data', 'synthetic_nuscenes'))
    if not osp.isfile(osp.join(root, 'nuscenes_trackmap_infos_train.pkl')):
        raise SystemExit(
            f'error: no nuscenes_trackmap_infos_train.pkl in {root}; create '
            f'the set with tools/create_synthetic_nuscenes.py --out {root} '
            f'and tools/create_data.py nuscenes --root {root} --version '
            f'v1.0-mini --out {root}')
    if DEVICE.type == 'cpu':
        torch.set_num_threads(args.threads)
    init_default_scope('mmdet3d')
    models = {name: build_model(name, args.grid, args.full_regularizers)
              for name in CONFIGS}
    optims = {name: OptimWrapper(torch.optim.AdamW(m.parameters(), lr=1e-4))
              for name, m in models.items()}
    data = make_batch(args.clips)
    grid = models['mtpsl'].rasters.size[0]
    widths = tuple(models['mtpsl'].regularizer.mapping.widths)
    print(f'== UniAD-tiny train step on {DEVICE.type} '
          f'({torch.get_num_threads()} threads): {args.clips} clips, '
          f'MTPSL/JTR grid {grid}x{grid}, MTPSL widths {widths}, '
          f'{args.steps} steps ==')
    for _ in range(args.warmup):
        for name in models:
            models[name].train_step(copy.deepcopy(data), optims[name])
    times = {name: [] for name in models}
    for _ in range(args.steps):
        for name in models:  # interleaved, so drift hits all alike
            times[name].append(step_seconds(models[name], optims[name],
                                            copy.deepcopy(data), DEVICE))
    memory = {name: peak_step_memory(models[name], optims[name],
                                     copy.deepcopy(data), DEVICE,
                                     static=True)
              for name in models}
    params = {name: sum(p.numel() for p in m.parameters())
              for name, m in models.items()}
    best = {name: min(t) for name, t in times.items()}
    median = {name: statistics.median(t) for name, t in times.items()}
    rows = {name: dict(
        params=params[name], best_ms=best[name] * 1e3,
        best_ratio=best[name] / best['baseline'],
        median_ms=median[name] * 1e3,
        median_ratio=median[name] / median['baseline'],
        memory_mib=memory[name] / 2**20,
        memory_ratio=memory[name] / memory['baseline'],
        mtpsl_ratio=memory[name] / memory['mtpsl']) for name in models}
    print_rows(rows)
    return dict(rows=rows, ratios=[
        ratio('NexusFlow / baseline step time ratio (best)',
              rows['nexusflow']['best_ratio'], 1.05),
        ratio('NexusFlow / baseline step time ratio (median)',
              rows['nexusflow']['median_ratio'], 1.05),
        ratio('NexusFlow / MTPSL peak memory ratio',
              rows['nexusflow']['mtpsl_ratio'], 0.5)])


def print_rows(rows: Dict[str, dict]) -> None:
    """Prints the table and the two goal lines.

    Args:
        rows (dict[str, dict]): ``{method: measured numbers}`` as
            :func:`main` returns them.
    """
    print(f'{"method":<10} {"params":>9} {"best ms":>9} {"x base":>7} '
          f'{"median ms":>10} {"x base":>7} {"peak MiB":>9} {"x base":>7} '
          f'{"x MTPSL":>8}')
    for name, row in rows.items():
        print(f'{name:<10} {row["params"]:>9,d} {row["best_ms"]:>9.1f} '
              f'{row["best_ratio"]:>7.3f} {row["median_ms"]:>10.1f} '
              f'{row["median_ratio"]:>7.3f} {row["memory_mib"]:>9.2f} '
              f'{row["memory_ratio"]:>7.3f} {row["mtpsl_ratio"]:>8.3f}')
    nexusflow = rows['nexusflow']
    print(f'NexusFlow / baseline step time ratio '
          f'{nexusflow["best_ratio"]:.3f} (best), '
          f'{nexusflow["median_ratio"]:.3f} (median) (goal <= 1.05)')
    extra = {name: row['memory_mib'] - rows['baseline']['memory_mib']
             for name, row in rows.items()}
    print(f'NexusFlow / MTPSL peak memory ratio '
          f'{nexusflow["mtpsl_ratio"]:.3f} (goal <= 0.5); '
          f'memory added to the baseline: NexusFlow '
          f'{extra["nexusflow"]:+.2f} MiB, MTPSL {extra["mtpsl"]:+.2f} MiB, '
          f'JTR {extra["jtr"]:+.2f} MiB')


if __name__ == '__main__':
    main()
