"""Trains, tests and compares the tiny comparison configs side by side.

One command for the README's result sections on the synthetic sets:

1. UniAD-tiny (synthetic nuScenes, map labels in Boston only, track labels
   in Singapore only): baseline, MTPSL, JTR, NexusFlow w/o inv, NexusFlow
   (two-stage) and full supervision (``--uniad-runs`` adds the 4 / 8 layer
   and one-stage ablations). Each config is trained ``--iters`` iterations
   with the demo's schedule overrides (cosine over the whole run; for a
   two-stage NexusFlow config the alignment starts at half of the run and
   warms up over a tenth of it), then tested with ``tools/test.py``
   (AMOTA, IDS, map IoUs, overall and per city).
2. NYUv2-tiny (synthetic, MTAN ``.npy`` format, onelabel): STL, MTL,
   MTPSL, JTR, CTAL-SS and NexusFlow trained ``--dense-epochs`` epochs and
   tested; Δm against the STL run.
3. Latents of every run over its val set (``collect_latents.py``), MMD²
   between the task latents (``mmd.py``), overall and per city, and the
   tables (``summarize.py``), written to ``--readme`` between the markers
   of the sections ``uniad-tiny``, ``uniad-tiny-mmd`` and ``nyuv2-tiny``.

What the MMD numbers mean. A run with surrogates (NexusFlow, w/o inv) is
measured with its own trained surrogates. A run without them (baseline,
MTPSL, JTR, full supervision, and every dense run but NexusFlow) has no
latent space, so one probe protocol gives it one: the surrogates of the
NexusFlow config (``--uniad-probe`` / ``--dense-probe``; same aggregator
and 6-layer flow, freshly initialised with a fixed seed) are attached to
the trained, frozen host and only they are fitted, for ``--probe-steps``
Adam steps on the run's own training set, to the alignment loss alone; then
the latents are collected like NexusFlow's. The number is how well a
fixed-capacity surrogate *can* align the frozen host's task features
after K steps, not how aligned the host's own features are. NexusFlow's
surrogates instead were trained together with the host (task losses +
lambda x alignment), so its number also reflects what training did to
the host; the two are comparable in kind, not identical in protocol.
The paper does not say how it obtained latents for its baselines. MMD² is
the unbiased estimate with a Gaussian kernel at the median-distance
bandwidth (scale-free: shrinking every latent does not lower it), with a
permutation-test p-value; the sets are tiny (16 UniAD val samples, 8 per
city), so read the p-values before the digits.

Every step is a plain command of the project's tools, printed before it
runs. ``--skip-existing`` skips a step whose output exists and is newer
than its input (a finished training: its final checkpoint; a test:
metrics.json; latents: latents.npz), so an interrupted comparison resumes
where it stopped; ``--dry-run`` prints the plan and what would be skipped.
Everything goes under ``--work-dir``.

Example:
    python tools/analysis/compare_tiny.py --skip-existing
    python tools/analysis/compare_tiny.py --iters 100 --dense-epochs 10 \
        --work-dir work_dirs/compare_quick --readme ''
"""
import argparse
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, NamedTuple, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from latents_io import replace_section  # noqa: E402

NUSC_ROOT = 'data/synthetic_nuscenes'
UNIAD_PROBE = 'configs/nexusflow/uniad_domainsplit_tiny.py'
DENSE_PROBE = 'configs/dense/nyuv2_segnet_nexusflow_onelabel_tiny.py'


class Run(NamedTuple):
    """One config of the comparison.

    Attributes:
        name (str): folder name under the work dir.
        label (str): row label of the tables.
        config (str): config file, relative to the repository.
        probe (bool): has no surrogates of its own; its latents come from
            the probe protocol.
        stages (bool): a two-stage NexusFlow config whose NexusFlowHook
            gets ``begin_iter`` = half of the run.
    """
    name: str
    label: str
    config: str
    probe: bool = False
    stages: bool = False


def _uniad(name: str) -> str:
    return f'configs/nexusflow/uniad_{name}_tiny.py'


def _dense(name: str) -> str:
    return f'configs/dense/nyuv2_segnet_{name}_onelabel_tiny.py'


UNIAD_RUNS = {
    run.name: run for run in (
        Run('fullsup', 'Full supervision', _uniad('fullsup'), probe=True),
        Run('baseline', 'Baseline', _uniad('baseline_domainsplit'),
            probe=True),
        Run('mtpsl', 'MTPSL', _uniad('mtpsl_domainsplit'), probe=True),
        Run('jtr', 'JTR', _uniad('jtr_domainsplit'), probe=True),
        Run('noinv', 'NexusFlow w/o inv', _uniad('domainsplit_noinv'),
            stages=True),
        Run('nexusflow', 'NexusFlow (two-stage)', _uniad('domainsplit'),
            stages=True),
        Run('4layers', 'NexusFlow, 4 layers', _uniad('domainsplit_4layers'),
            stages=True),
        Run('8layers', 'NexusFlow, 8 layers', _uniad('domainsplit_8layers'),
            stages=True),
        Run('onestage', 'NexusFlow (one-stage)',
            _uniad('domainsplit_onestage')),
    )
}
DEFAULT_UNIAD = ('fullsup', 'baseline', 'mtpsl', 'jtr', 'noinv',
                 'nexusflow')
DENSE_RUNS = {
    run.name: run for run in (
        Run('stl', 'STL', _dense('stl'), probe=True),
        Run('mtl', 'MTL (baseline)', _dense('mtl'), probe=True),
        Run('mtpsl', 'MTPSL', _dense('mtpsl'), probe=True),
        Run('jtr', 'JTR', _dense('jtr'), probe=True),
        Run('ctal-ss', 'CTAL-SS', _dense('ctal-ss'), probe=True),
        Run('nexusflow', 'NexusFlow', _dense('nexusflow')),
    )
}


class Step(NamedTuple):
    """One command of the plan.

    Attributes:
        title (str): what it does, for the progress lines.
        argv (list[str]): the tool and its arguments (run with this
            interpreter, from the repository root).
        output (str): the file it produces, relative to the repository.
        inputs (list[str]): files it reads that it must be newer than.
    """
    title: str
    argv: List[str]
    output: str
    inputs: List[str]


def uniad_options(iters: int, run: Run) -> List[str]:
    """The demo's schedule overrides for ``iters`` iterations.

    Validation during training is left out (``val_interval`` past the
    end): every run is tested once with ``tools/test.py``.

    Args:
        iters (int): training iterations.
        run (Run): the config; a two-stage one gets the stage switch.

    Returns:
        list[str]: ``--cfg-options`` values.
    """
    options = [f'train_cfg.max_iters={iters}',
               f'train_cfg.val_interval={iters + 1}',
               f'default_hooks.checkpoint.interval={iters}',
               f'param_scheduler.1.T_max={iters}',
               f'param_scheduler.1.end={iters}']
    if run.stages:
        options += [f'custom_hooks.0.begin_iter={iters // 2}',
                    f'custom_hooks.0.warmup_iters={max(iters // 10, 1)}']
    return options


def dense_options(epochs: int, root: str) -> List[str]:
    """Epoch overrides (as the demo) and the dense data root."""
    options = [f'train_cfg.max_epochs={epochs}',
               f'train_cfg.val_interval={epochs + 1}',
               f'default_hooks.checkpoint.interval={epochs}']
    return options + dense_root_options(root)


def dense_root_options(root: str) -> List[str]:
    """Points every dataloader of a dense tiny config at ``root``."""
    return [f'{split}_dataloader.dataset.data_root={root.rstrip("/")}/'
            for split in ('train', 'val', 'test')]


def run_steps(group: str, run: Run, work_dir: str, checkpoint: str,
              train_options: List[str], data_options: List[str],
              probe_config: str, args: argparse.Namespace) -> List[Step]:
    """Train, test and latents steps of one run.

    Args:
        group (str): ``'uniad'`` or ``'dense'`` (the folder).
        run (Run): the config.
        work_dir (str): the comparison's work dir.
        checkpoint (str): file name of the final checkpoint.
        train_options (list[str]): ``--cfg-options`` of the training.
        data_options (list[str]): ``--cfg-options`` of every step (data
            roots).
        probe_config (str): config whose surrogates probe a run without.
        args (argparse.Namespace): probe_steps, latent_samples.

    Returns:
        list[Step]: the three steps.
    """
    folder = osp.join(work_dir, group, run.name)
    ckpt = osp.join(folder, checkpoint)
    metrics = osp.join(folder, 'metrics.json')
    latents = osp.join(folder, 'latents.npz')
    extra = ['--cfg-options'] + data_options if data_options else []
    collect = ['tools/analysis/collect_latents.py', run.config, ckpt,
               '--out', latents]
    if run.probe:
        collect += ['--probe-config', probe_config, '--probe-steps',
                    str(args.probe_steps)]
    if args.latent_samples:
        collect += ['--max-samples', str(args.latent_samples)]
    return [
        Step(f'train {group}/{run.name}',
             ['tools/train.py', run.config, '--work-dir', folder,
              '--cfg-options'] + train_options + data_options, ckpt,
             [run.config]),
        Step(f'test {group}/{run.name}',
             ['tools/test.py', run.config, ckpt, '--work-dir', folder] +
             extra, metrics, [ckpt]),
        Step(f'latents {group}/{run.name}' +
             (' (probe)' if run.probe else ''), collect + extra, latents,
             [ckpt]),
    ]


def build_plan(args: argparse.Namespace) -> Dict[str, List[Step]]:
    """Every step, grouped as ``{'train': [...], 'latents': [...]}``.

    All trainings and tests come first, the latents after, so a failure
    of the analysis never costs a training.

    Args:
        args (argparse.Namespace): the command line.

    Returns:
        dict[str, list[Step]]: ``train`` (train + test steps) and
        ``latents``.
    """
    plan: Dict[str, List[Step]] = dict(train=[], latents=[])
    for name in args.uniad_runs:
        run = UNIAD_RUNS[name]
        steps = run_steps('uniad', run, args.work_dir,
                          f'iter_{args.iters}.pth',
                          uniad_options(args.iters, run), [],
                          args.uniad_probe, args)
        plan['train'] += steps[:2]
        plan['latents'].append(steps[2])
    for name in args.dense_runs:
        run = DENSE_RUNS[name]
        steps = run_steps('dense', run, args.work_dir,
                          f'epoch_{args.dense_epochs}.pth',
                          dense_options(args.dense_epochs, args.dense_root),
                          dense_root_options(args.dense_root),
                          args.dense_probe, args)
        plan['train'] += steps[:2]
        plan['latents'].append(steps[2])
    return plan


def is_done(step: Step) -> bool:
    """The step's output exists and is newer than each of its inputs."""
    path = osp.join(ROOT, step.output)
    if not osp.exists(path):
        return False
    newest = max((osp.getmtime(osp.join(ROOT, p)) for p in step.inputs
                  if osp.isfile(osp.join(ROOT, p))), default=0.0)
    return osp.getmtime(path) >= newest


def execute(step: Step, number: str) -> None:
    """Runs one step with this interpreter, failing loudly with its name."""
    cmd = [sys.executable] + step.argv
    print(f'\n==> [{number}] {step.title}\n    $ {shlex.join(cmd)}',
          flush=True)
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f'compare_tiny: step "{step.title}" failed (exit '
                         f'{result.returncode}); the command is above')
    if not osp.exists(osp.join(ROOT, step.output)):
        raise SystemExit(f'compare_tiny: step "{step.title}" did not write '
                         f'{step.output}')
    print(f'    done in {time.time() - start:.0f} s', flush=True)


def run_plan(steps: Sequence[Step], args: argparse.Namespace) -> int:
    """Runs (or, with --dry-run, lists) the steps; returns how many ran.

    Args:
        steps (Sequence[Step]): the steps, in order.
        args (argparse.Namespace): skip_existing, dry_run.

    Returns:
        int: the number of steps run (or that would run).
    """
    ran = 0
    for index, step in enumerate(steps, 1):
        number = f'{index}/{len(steps)}'
        if args.skip_existing and is_done(step):
            print(f'==> [{number}] {step.title}: skipped, {step.output} '
                  f'exists', flush=True)
            continue
        ran += 1
        if args.dry_run:
            print(f'==> [{number}] {step.title}: would run\n    $ '
                  f'{shlex.join(step.argv)}', flush=True)
        else:
            execute(step, number)
    return ran


def tool(argv: List[str], dry_run: bool) -> None:
    """Runs a table tool (summarize.py, mmd.py), printing the command."""
    print(f'\n==> $ {shlex.join(argv)}', flush=True)
    if dry_run:
        return
    result = subprocess.run([sys.executable] + argv, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f'compare_tiny: {argv[0]} failed (exit '
                         f'{result.returncode}); the command is above')


def write_tables(args: argparse.Namespace) -> None:
    """The UniAD and dense tables, into the work dir and the README."""
    out = args.work_dir
    readme = ['--readme', args.readme] if args.readme else []
    mmd_options = ['--permutations', str(args.permutations),
                   '--max-samples', '0']
    if args.uniad_runs:
        runs = [UNIAD_RUNS[n] for n in args.uniad_runs]
        dirs = [osp.join(out, 'uniad', r.name) for r in runs]
        labels = [r.label for r in runs]
        caption = (f'UniAD-tiny, {args.iters} training iterations per run '
                   f'(two-stage runs align from iteration {args.iters // 2})'
                   f', synthetic nuScenes val set; IoUs in %.')
        tool(['tools/analysis/summarize.py', *dirs, '--labels', *labels,
              '--preset', 'paper', '--out', osp.join(out, 'uniad.md'),
              '--csv', osp.join(out, 'uniad.csv'), '--caption', caption] +
             (readme + ['--section', 'uniad-tiny'] if readme else []),
             args.dry_run)
        caption = (f'MMD² between the track and map latents z (lower = '
                   f'better aligned) of the runs above; runs without '
                   f'surrogates are probed ({args.probe_steps} steps, see '
                   f'the protocol above); p from {args.permutations} '
                   f'permutations.')
        tool(['tools/analysis/mmd.py',
              *[osp.join(d, 'latents.npz') for d in dirs], '--labels',
              *labels, *mmd_options, '--out', osp.join(out, 'uniad_mmd.md'),
              '--caption', caption] +
             (readme + ['--section', 'uniad-tiny-mmd'] if readme else []),
             args.dry_run)
    if args.dense_runs:
        runs = [DENSE_RUNS[n] for n in args.dense_runs]
        dirs = [osp.join(out, 'dense', r.name) for r in runs]
        labels = [r.label for r in runs]
        metrics_md, mmd_md = (osp.join(out, 'nyuv2.md'),
                              osp.join(out, 'nyuv2_mmd.md'))
        reference = ['--delta-m-reference',
                     osp.join(out, 'dense', 'stl')] if 'stl' in \
            args.dense_runs else []
        caption = (f'SegNet-tiny on the synthetic NYUv2-format set '
                   f'({args.dense_root}), onelabel, {args.dense_epochs} '
                   f'epochs per run; Δm against the STL run over mIoU, abs '
                   f'err and mean angle.')
        tool(['tools/analysis/summarize.py', *dirs, '--labels', *labels,
              '--preset', 'dense', *reference, '--out', metrics_md, '--csv',
              osp.join(out, 'nyuv2.csv'), '--caption', caption],
             args.dry_run)
        caption = (f'MMD² between the semantic / depth / normal latents z '
                   f'(runs without surrogates probed, {args.probe_steps} '
                   f'steps); p from {args.permutations} permutations.')
        tool(['tools/analysis/mmd.py',
              *[osp.join(d, 'latents.npz') for d in dirs], '--labels',
              *labels, *mmd_options, '--out', mmd_md, '--caption', caption],
             args.dry_run)
        if args.readme and not args.dry_run:
            texts = []
            for path in (metrics_md, mmd_md):
                with open(osp.join(ROOT, path)) as f:
                    texts.append(f.read().strip())
            replace_section(osp.join(ROOT, args.readme), 'nyuv2-tiny',
                            '\n\n'.join(texts))
            print(f'wrote section nyuv2-tiny of {args.readme}')


def ensure_data(args: argparse.Namespace) -> List[Step]:
    """Steps creating the synthetic sets that are missing (as the demo)."""
    steps = []
    if args.uniad_runs and not osp.isfile(osp.join(
            ROOT, NUSC_ROOT, 'nuscenes_trackmap_infos_val.pkl')):
        if os.environ.get('SYNTHETIC_NUSCENES'):
            raise SystemExit(
                f'compare_tiny: SYNTHETIC_NUSCENES is set; create that set '
                f'yourself (see README, "Synthetic nuScenes")')
        steps += [
            Step('generate a synthetic nuScenes set (devkit format)',
                 ['tools/create_synthetic_nuscenes.py', '--out', NUSC_ROOT],
                 osp.join(NUSC_ROOT, 'v1.0-mini', 'scene.json'), []),
            Step('convert it (mmdet3d converters + track/map infos)',
                 ['tools/create_data.py', 'nuscenes', '--root', NUSC_ROOT,
                  '--version', 'v1.0-mini', '--out', NUSC_ROOT],
                 osp.join(NUSC_ROOT, 'nuscenes_trackmap_infos_val.pkl'),
                 [])
        ]
    if args.dense_runs and not osp.isdir(osp.join(ROOT, args.dense_root,
                                                  'val')):
        steps.append(Step(
            'generate a synthetic NYUv2 set (MTAN .npy format)',
            ['tools/create_synthetic_nyuv2.py', '--out', args.dense_root,
             '--train', str(args.dense_train), '--val',
             str(args.dense_val), '--size', '32', '48'],
            osp.join(args.dense_root, 'val'), []))
    return steps


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train, test and compare the tiny configs side by side')
    parser.add_argument('--work-dir', default='work_dirs/compare_tiny',
                        help='everything goes here')
    parser.add_argument('--iters', type=int, default=300,
                        help='training iterations of each UniAD-tiny run')
    parser.add_argument('--uniad-runs', nargs='*', default=DEFAULT_UNIAD,
                        choices=list(UNIAD_RUNS), metavar='RUN',
                        help=f'UniAD-tiny runs, of {list(UNIAD_RUNS)} '
                        f'(default: {" ".join(DEFAULT_UNIAD)}; none: '
                        'skip UniAD)')
    parser.add_argument('--dense-epochs', type=int, default=20,
                        help='training epochs of each dense run')
    parser.add_argument('--dense-runs', nargs='*', default=list(DENSE_RUNS),
                        choices=list(DENSE_RUNS), metavar='RUN',
                        help=f'dense runs, of {list(DENSE_RUNS)} (default: '
                        'all; none: skip the dense set)')
    parser.add_argument('--dense-root', default='data/synthetic_nyuv2_compare',
                        help='synthetic NYUv2 set of the dense runs '
                        '(created when missing)')
    parser.add_argument('--dense-train', type=int, default=32,
                        help='training images of a created dense set')
    parser.add_argument('--dense-val', type=int, default=16,
                        help='val images of a created dense set (the MMD '
                        'samples)')
    parser.add_argument('--uniad-probe', default=UNIAD_PROBE,
                        help='config whose surrogates probe UniAD runs '
                        'without surrogates')
    parser.add_argument('--dense-probe', default=DENSE_PROBE,
                        help='config whose surrogates probe dense runs '
                        'without surrogates')
    parser.add_argument('--probe-steps', type=int, default=100,
                        help='alignment steps fitting the probe surrogates')
    parser.add_argument('--latent-samples', type=int, default=0,
                        help='latents of at most this many val samples (0: '
                        'all)')
    parser.add_argument('--permutations', type=int, default=200,
                        help='permutations of the MMD p-values')
    parser.add_argument('--readme', default='README.md',
                        help='file whose result sections get the tables '
                        '(empty: do not write it)')
    parser.add_argument('--skip-existing', action='store_true',
                        help='skip steps whose output is already there')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan without running anything')
    args = parser.parse_args(argv)
    for name in ('iters', 'dense_epochs', 'probe_steps'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    start = time.time()
    plan = build_plan(args)
    print(f'compare_tiny: {len(args.uniad_runs)} UniAD-tiny runs '
          f'({args.iters} iterations), {len(args.dense_runs)} dense runs '
          f'({args.dense_epochs} epochs) under {args.work_dir}', flush=True)
    print('\n== data ==')
    run_plan(ensure_data(args), args)
    print('\n== training and testing ==')
    run_plan(plan['train'], args)
    print('\n== latents ==')
    run_plan(plan['latents'], args)
    print('\n== tables ==')
    write_tables(args)
    print(f'\ncompare_tiny: finished in {(time.time() - start) / 60:.1f} min'
          f'; everything is under {osp.join(ROOT, args.work_dir)}')


if __name__ == '__main__':
    main()
