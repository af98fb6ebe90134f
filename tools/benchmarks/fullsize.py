"""Training cost of the full-size UniAD comparison methods (one clip).

The full-size configs ``configs/nexusflow/uniad_{baseline_,,mtpsl_,jtr_}
domainsplit.py`` (ResNet-101-DCN on 6 cameras of 1600 x 900, 200 x 200 BEV,
6 encoder layers, 900 + 1 track queries, full heads and regularizers;
random init instead of the pretrained file) each train one step on the same
clip of a synthetic nuScenes set with full-resolution cameras (made in a
temporary folder unless ``--data-root`` names one). Then NexusFlow again
with the encoder's activation checkpointing (``with_cp``), with mixed
precision (``--amp``: float16 autocast and loss scaling on CUDA, bfloat16
autocast on CPU) and with both.

Each run is its own process, so its peak memory is its own: on CUDA the
allocator peak (``max_memory_allocated``), on CPU the peak resident set
(``ru_maxrss``) of the whole process, which includes parameters, gradients
and optimizer state. On CPU every run gets an address-space limit
(``--mem-limit``) so that a run that does not fit fails with a memory
error instead of waking the OOM killer. Time: wall time on CUDA, the
process's CPU time on CPU (see ``_measure.py``).

Printed ratios and goals: NexusFlow / baseline step time and memory
(<= 1.02 each), NexusFlow / MTPSL memory (<= 0.5; also the memory each
adds over the baseline, since the host dominates both), NexusFlow with AMP +
checkpointing against UniAD's documented ~50 GB per GPU for stage 1
(<= 0.6), and the largest difference between the fp32 step with and
without checkpointing (losses, relative gradient norm; <= 1e-5).

Example:
    python tools/benchmarks/fullsize.py                 # 5-frame clips
    python tools/benchmarks/fullsize.py --quick         # 1-frame clips
    python tools/benchmarks/fullsize.py --methods baseline nexusflow \
        --variants fp32 cp --frames 3
    python tools/benchmarks/fullsize.py --methods baseline nexusflow \
        --base cp --variants cp                         # 5 frames, with_cp
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import random
import resource
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import import_nexusflow
from _measure import clock, ratio

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(
    baseline='uniad_baseline_domainsplit.py',
    nexusflow='uniad_domainsplit.py',
    mtpsl='uniad_mtpsl_domainsplit.py',
    jtr='uniad_jtr_domainsplit.py')
# Variant -> (activation checkpointing, mixed precision).
VARIANTS = {'fp32': (False, False), 'cp': (True, False),
            'amp': (False, True), 'amp+cp': (True, True)}
# UniAD's documentation: ~50 GB of GPU memory per GPU for stage 1.
UNIAD_STAGE1_BYTES = 50e9
GOALS = dict(time=1.02, memory=1.02, mtpsl=0.5, uniad=0.6, equal=1e-5)
MARK = 'FULLSIZE_RESULT '


# ------------------------------------------------------------------ data
def make_data(root: str, frames: int, tiny: bool = False) -> str:
    """A synthetic nuScenes v1.0-mini set with 1600 x 900 cameras and its
    infos: 4 scenes (Boston and Singapore in train and val) of ``max(frames,
    2)`` key frames.

    Args:
        root (str): folder to write.
        frames (int): frames per training clip.
        tiny (bool): 64 x 36 cameras instead (``--tiny``).

    Returns:
        str: the data root.
    """
    import_nexusflow()
    from nexusflow.converters import create_stock_infos, create_trackmap_infos
    from nexusflow.testing import create_synthetic_nuscenes
    from nexusflow.testing.synthetic_nuscenes import FULL_RESOLUTION
    create_synthetic_nuscenes(root, version='v1.0-mini', num_scenes=4,
                              samples_per_scene=max(frames, 2),
                              image_size=(64, 36) if tiny else
                              FULL_RESOLUTION, seed=0)
    create_stock_infos(root, 'v1.0-mini', root, max_sweeps=1)
    create_trackmap_infos(root, 'v1.0-mini', root)
    return root


def check_data(root: str) -> None:
    """Fails with one line when ``root`` has no track + map infos or its
    cameras are not 1600 x 900."""
    infos = osp.join(root, 'nuscenes_trackmap_infos_train.pkl')
    if not osp.isfile(infos):
        raise SystemExit(
            f'error: --data-root {root} has no nuscenes_trackmap_infos_'
            f'train.pkl; create it with tools/create_synthetic_nuscenes.py '
            f'--out {root} --full-resolution and tools/create_data.py '
            f'nuscenes --root {root} --version v1.0-mini --out {root}, or '
            f'leave --data-root out')


# --------------------------------------------------------- one run (child)
def load_config(method: str, root: str, frames: int, with_cp: bool,
                tiny: bool = False):
    """The method's full-size (or ``_tiny``) config on the synthetic set.

    The backbone starts from random weights (no download, no converted
    checkpoint); NexusFlow's alignment weight is on (0.1, as in stage 2).
    """
    from mmengine.config import Config
    name = CONFIGS[method].replace('.py', '_tiny.py') if tiny else \
        CONFIGS[method]
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'nexusflow', name))
    cfg.model.img_backbone.init_cfg = None
    cfg.model.bev_encoder.with_cp = with_cp
    if cfg.model.get('neck') is not None:
        cfg.model.neck.align_weight = 0.1
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    inner = dataset.get('dataset', dataset)
    inner.update(data_root=root.rstrip('/') + '/', queue_length=frames)
    return cfg, dataset


def load_clip(dataset_cfg, city: str):
    """The first training clip of ``city``, with fixed augmentation draws
    (every run gets the same pixels)."""
    from mmengine.dataset import pseudo_collate

    from mmdet3d.registry import DATASETS
    dataset = DATASETS.build(dataset_cfg)
    for index in range(len(dataset)):
        if dataset.get_data_info(index)['location'].startswith(city):
            break
    else:
        raise SystemExit(f'error: the data has no {city} training clip')
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    return pseudo_collate([dataset[index]])


def grad_norm(model: torch.nn.Module) -> float:
    """L2 norm of all parameter gradients."""
    grads = [p.grad.detach().float().norm() for p in model.parameters()
             if p.grad is not None]
    return float(torch.stack(grads).norm()) if grads else 0.0


def run_one(method: str, variant: str, root: str, frames: int,
            city: str, tiny: bool = False) -> dict:
    """Builds the model, trains one step and measures it (in the child
    process).

    Returns:
        dict: ``seconds``, ``peak_bytes``, ``static_rss`` (CPU: resident
        bytes before the step), ``losses``, ``grad_norm``, ``params``.
    """
    import_nexusflow()
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    from mmengine.registry import init_default_scope

    from mmdet3d.registry import MODELS
    init_default_scope('mmdet3d')
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    with_cp, amp = VARIANTS[variant]
    cfg, dataset_cfg = load_config(method, root, frames, with_cp, tiny)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model = model.to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.01)
    if amp and device.type == 'cuda':
        optim = AmpOptimWrapper(optimizer=optimizer, dtype=torch.float16)
    else:
        optim = OptimWrapper(optimizer=optimizer)
    batch = load_clip(dataset_cfg, city)
    static_rss = resident_bytes()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    torch.manual_seed(1)
    random.seed(1)
    np.random.seed(1)
    start = clock(device)
    with optim.optim_context(model), torch.autocast(
            'cpu', dtype=torch.bfloat16, enabled=amp and device.type == 'cpu'):
        data = model.data_preprocessor(batch, True)
        losses = model._run_forward(data, mode='loss')
    loss, log_vars = model.parse_losses(losses)
    optim.backward(loss)
    norm = grad_norm(model)
    optim.step()
    optim.zero_grad()
    seconds = clock(device) - start
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(seconds=seconds, peak_bytes=peak, static_rss=static_rss,
                losses={k: float(torch.as_tensor(v).detach())
                        for k, v in log_vars.items()},
                grad_norm=norm, device=device.type,
                threads=torch.get_num_threads(),
                params=sum(p.numel() for p in model.parameters()))


def resident_bytes() -> int:
    """This process's resident set now (0 where /proc is missing)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# -------------------------------------------------------- parent process
def spawn(method: str, variant: str, args: argparse.Namespace) -> dict:
    """Runs :func:`run_one` in a fresh process under the memory limit.

    Returns:
        dict: its measurements, or ``error`` (the last output line).
    """
    cmd = [sys.executable, osp.abspath(__file__), '--child', method, variant,
           '--data-root', args.data_root, '--frames', str(args.frames),
           '--city', args.city] + (['--tiny'] if args.tiny else [])
    env = dict(os.environ)
    if args.threads:
        env['OMP_NUM_THREADS'] = str(args.threads)
    limit = int(args.mem_limit * 2**30)

    def cap():  # CPU only: fail with MemoryError rather than OOM-kill
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    use_cap = args.mem_limit > 0 and not torch.cuda.is_available()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                          preexec_fn=cap if use_cap else None)
    wall = time.perf_counter() - start
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return dict(json.loads(line[len(MARK):]), wall=wall)
    lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    tail = lines[-1] if lines else 'no output'
    if 'MemoryError' in proc.stderr or "can't allocate memory" in \
            proc.stderr or 'DefaultCPUAllocator' in proc.stderr:
        tail = (f'did not fit in the {args.mem_limit:g} GiB address-space '
                f'limit ({tail})')
    return dict(error=f'exit code {proc.returncode}: {tail}', wall=wall)


def gib(value: float) -> str:
    return f'{value / 2**30:.2f}'


def report(runs: Dict[str, dict], args: argparse.Namespace) -> List[dict]:
    """Prints the table and the ratios; returns the ratios."""
    device = next((r['device'] for r in runs.values() if 'device' in r),
                  'cpu')
    memory_kind = 'allocator peak' if device == 'cuda' else 'peak RSS'
    print(f'{"run":<22} {"step s":>8} {memory_kind + " GiB":>16} '
          f'{"loss":>9} {"grad norm":>10}')
    for name, run in runs.items():
        if 'error' in run:
            print(f'{name:<22} FAILED {run["error"]}')
            continue
        print(f'{name:<22} {run["seconds"]:>8.1f} '
              f'{gib(run["peak_bytes"]):>16} '
              f'{run["losses"].get("loss", float("nan")):>9.4f} '
              f'{run["grad_norm"]:>10.4f}')
    ok = {name: run for name, run in runs.items() if 'error' not in run}
    section = f'{args.frames}-frame clip, {device}' + (
        ', encoder checkpointing' if args.base == 'cp' else '')
    ratios = []

    def add(name, num, den, key, goal):
        if num in ok and den in ok:
            value = ok[num][key] / ok[den][key]
            ratios.append(ratio(name, value, goal, section))

    base = args.base
    add('NexusFlow / baseline step time', f'nexusflow {base}',
        f'baseline {base}', 'seconds', GOALS['time'])
    add('NexusFlow / baseline peak memory', f'nexusflow {base}',
        f'baseline {base}', 'peak_bytes', GOALS['memory'])
    add('NexusFlow / MTPSL peak memory', f'nexusflow {base}',
        f'mtpsl {base}', 'peak_bytes', GOALS['mtpsl'])
    names = [f'{m} {base}' for m in ('nexusflow', 'mtpsl', 'baseline')]
    if all(name in ok for name in names):
        # The host dominates both peaks; what each method adds to it:
        nexus, mtpsl, bare = (ok[name]['peak_bytes'] for name in names)
        ratios.append(ratio(
            'NexusFlow / MTPSL peak memory added over the baseline',
            (nexus - bare) / max(mtpsl - bare, 1), None, section))
    add('JTR / baseline peak memory', f'jtr {base}', f'baseline {base}',
        'peak_bytes', None)
    for variant in ('cp', 'amp', 'amp+cp'):
        add(f'NexusFlow {variant} / fp32 peak memory', f'nexusflow {variant}',
            'nexusflow fp32', 'peak_bytes', None)
    for variant in ('amp+cp', 'cp'):
        run = ok.get(f'nexusflow {variant}')
        if run is not None:
            ratios.append(ratio(
                f'NexusFlow {variant} peak memory / UniAD stage 1 (50 GB)',
                run['peak_bytes'] / UNIAD_STAGE1_BYTES,
                GOALS['uniad'] if variant == 'amp+cp' else None, section))
    if 'nexusflow fp32' in ok and 'nexusflow cp' in ok:
        ratios.append(ratio('fp32 vs fp32 + checkpointing: max difference '
                            '(losses, relative grad norm)',
                            difference(ok['nexusflow fp32'],
                                       ok['nexusflow cp']),
                            GOALS['equal'], section))
    for entry in ratios:
        goal = entry['goal']
        verdict = '' if goal is None else \
            f' (goal <= {goal:g}: ' \
            f'{"met" if entry["value"] <= goal else "NOT met"})'
        print(f'{entry["name"]}: {entry["value"]:.4g}{verdict}')
    return ratios


def difference(a: dict, b: dict) -> float:
    """Largest absolute loss difference and relative grad-norm
    difference of two runs."""
    if set(a['losses']) != set(b['losses']):
        return math.inf  # not the same losses at all
    diffs = [abs(a['losses'][k] - b['losses'][k]) for k in a['losses']]
    diffs.append(abs(a['grad_norm'] - b['grad_norm']) /
                 max(abs(a['grad_norm']), 1e-12))
    return float(max(diffs))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=None,
                        help='synthetic nuScenes root with 1600x900 cameras '
                        'and infos (default: made in a temporary folder)')
    parser.add_argument('--frames', type=int, default=5,
                        help='frames per clip (the configs\' 5)')
    parser.add_argument('--methods', nargs='+', default=list(CONFIGS),
                        choices=list(CONFIGS))
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=list(VARIANTS),
                        help='NexusFlow variants (the other methods run '
                        'the --base one)')
    parser.add_argument('--base', default='fp32', choices=['fp32', 'cp'],
                        help='variant of the method comparison (cp: every '
                        'method checkpoints its encoder, for clips that '
                        'need it to fit)')
    parser.add_argument('--city', default='singapore',
                        choices=['singapore', 'boston'],
                        help='city of the clip (singapore: track labels, '
                        'boston: map labels)')
    parser.add_argument('--threads', type=int, default=0,
                        help='CPU threads per run (0: torch\'s default)')
    parser.add_argument('--mem-limit', type=float, default=22.0,
                        help='CPU: address-space limit per run in GiB (0: '
                        'none)')
    parser.add_argument('--quick', action='store_true',
                        help='1-frame clips')
    parser.add_argument('--tiny', action='store_true',
                        help='the _tiny twins of the configs on 64x36 '
                        'cameras: checks this script, measures nothing '
                        'full-size')
    parser.add_argument('--child', nargs=2, metavar=('METHOD', 'VARIANT'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.frames = 1
    if args.frames < 1:
        parser.error('--frames must be >= 1')
    return args


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Measures every run in its own process and prints the ratios.

    Args:
        argv (Sequence[str], optional): options (None: sys.argv).

    Returns:
        dict: ``runs`` (``{"method variant": measurements or error}``) and
        ``ratios``.
    """
    args = parse_args(argv)
    if args.child:
        method, variant = args.child
        result = run_one(method, variant, args.data_root, args.frames,
                         args.city, args.tiny)
        print(MARK + json.dumps(result), flush=True)
        return result
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_root is None:
            args.data_root = make_data(osp.join(tmp, 'nuscenes_full'),
                                       args.frames, args.tiny)
        check_data(args.data_root)
        plan = [(m, args.base) for m in args.methods]
        if 'nexusflow' in args.methods:
            plan += [('nexusflow', v) for v in args.variants
                     if v != args.base]
        size = 'tiny (--tiny)' if args.tiny else 'full-size'
        print(f'== {size} UniAD train step, {args.frames}-frame clip of '
              f'{args.city}, {len(plan)} runs, each in its own process ==',
              flush=True)
        runs = {}
        for method, variant in plan:
            runs[f'{method} {variant}'] = spawn(method, variant, args)
            run = runs[f'{method} {variant}']
            state = run.get('error') or \
                f'{run["seconds"]:.1f} s, {gib(run["peak_bytes"])} GiB'
            print(f'  {method} {variant}: {state}', flush=True)
    ratios = report(runs, args)
    failed = [name for name, run in runs.items() if 'error' in run]
    if failed and not ratios:
        raise SystemExit(f'error: every run failed ({failed[0]}: '
                         f'{runs[failed[0]]["error"]})')
    return dict(runs=runs, ratios=ratios, frames=args.frames)


if __name__ == '__main__':
    main()
