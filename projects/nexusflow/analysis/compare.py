"""The tiny comparison behind the README's result sections.

One plan of plain tool commands on the synthetic sets:

1. UniAD-tiny (synthetic nuScenes, map labels in Boston only, track labels
   in Singapore only): baseline, MTPSL, JTR, NexusFlow w/o inv, NexusFlow
   (two-stage) and full supervision (4 / 8 layer and one-stage ablations
   on request). Each config is trained with the demo's schedule overrides
   (cosine over the whole run; for a two-stage NexusFlow config the
   alignment starts at half of the run and warms up over a tenth of it),
   then tested with ``tools/test.py`` (AMOTA, IDS, map IoUs, overall and
   per city).
2. NYUv2-tiny (synthetic, MTAN ``.npy`` format, onelabel): STL, MTL,
   MTPSL, JTR, CTAL-SS and NexusFlow trained and tested; Δm against the
   STL run.
3. Latents of every run over its val set (``collect_latents.py``), MMD²
   between the task latents (``mmd.py``), overall and per city, and the
   tables (``summarize.py``), written to the README between the markers
   of the sections ``uniad-tiny``, ``uniad-tiny-mmd`` and ``nyuv2-tiny``.

What the MMD numbers mean. A run with surrogates (NexusFlow, w/o inv) is
measured with its own trained surrogates. A run without them (baseline,
MTPSL, JTR, full supervision, and every dense run but NexusFlow) has no
latent space, so one probe protocol gives it one: the surrogates of the
NexusFlow config (``uniad_probe`` / ``dense_probe``; same aggregator
and 6-layer flow, freshly initialised with a fixed seed) are attached to
the trained, frozen host and only they are fitted, for ``probe_steps``
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

Every step is a command, printed before it runs. With ``skip_existing`` a
step whose output exists and is newer than its input is skipped (a
finished training: its final checkpoint; a test: metrics.json; latents:
latents.npz), so an interrupted comparison resumes where it stopped;
``dry_run`` prints the plan and what would be skipped.
"""
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Sequence

from .readme import replace_section

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


@dataclass
class CompareSettings:
    """What the comparison runs (``compare_tiny.py``'s options).

    Attributes:
        work_dir (str): everything goes here (relative to the root).
        iters (int): training iterations of each UniAD-tiny run.
        uniad_runs (Sequence[str]): keys of :data:`UNIAD_RUNS`.
        dense_epochs (int): training epochs of each dense run.
        dense_runs (Sequence[str]): keys of :data:`DENSE_RUNS`.
        dense_root (str): synthetic NYUv2 set (created when missing).
        dense_train (int): training images of a created dense set.
        dense_val (int): val images of a created dense set.
        uniad_probe (str): config whose surrogates probe UniAD runs.
        dense_probe (str): config whose surrogates probe dense runs.
        probe_steps (int): alignment steps fitting the probe surrogates.
        latent_samples (int): latents of at most this many val samples
            (0: all).
        permutations (int): permutations of the MMD p-values.
        readme (str): file whose result sections get the tables (empty:
            none).
        skip_existing (bool): skip steps whose output is already there.
        dry_run (bool): print the plan without running anything.
    """
    work_dir: str = 'work_dirs/compare_tiny'
    iters: int = 300
    uniad_runs: Sequence[str] = DEFAULT_UNIAD
    dense_epochs: int = 20
    dense_runs: Sequence[str] = tuple(DENSE_RUNS)
    dense_root: str = 'data/synthetic_nyuv2_compare'
    dense_train: int = 32
    dense_val: int = 16
    uniad_probe: str = UNIAD_PROBE
    dense_probe: str = DENSE_PROBE
    probe_steps: int = 100
    latent_samples: int = 0
    permutations: int = 200
    readme: str = 'README.md'
    skip_existing: bool = False
    dry_run: bool = False


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


def run_steps(group: str, run: Run, checkpoint: str,
              train_options: List[str], data_options: List[str],
              probe_config: str, settings: CompareSettings) -> List[Step]:
    """Train, test and latents steps of one run.

    Args:
        group (str): ``'uniad'`` or ``'dense'`` (the folder).
        run (Run): the config.
        checkpoint (str): file name of the final checkpoint.
        train_options (list[str]): ``--cfg-options`` of the training.
        data_options (list[str]): ``--cfg-options`` of every step (data
            roots).
        probe_config (str): config whose surrogates probe a run without.
        settings (CompareSettings): work_dir, probe_steps, latent_samples.

    Returns:
        list[Step]: the three steps.
    """
    folder = osp.join(settings.work_dir, group, run.name)
    ckpt = osp.join(folder, checkpoint)
    metrics = osp.join(folder, 'metrics.json')
    latents = osp.join(folder, 'latents.npz')
    extra = ['--cfg-options'] + data_options if data_options else []
    collect = ['tools/analysis/collect_latents.py', run.config, ckpt,
               '--out', latents]
    if run.probe:
        collect += ['--probe-config', probe_config, '--probe-steps',
                    str(settings.probe_steps)]
    if settings.latent_samples:
        collect += ['--max-samples', str(settings.latent_samples)]
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


def build_plan(settings: CompareSettings) -> Dict[str, List[Step]]:
    """Every step, grouped as ``{'train': [...], 'latents': [...]}``.

    All trainings and tests come first, the latents after, so a failure
    of the analysis never costs a training.

    Args:
        settings (CompareSettings): the comparison.

    Returns:
        dict[str, list[Step]]: ``train`` (train + test steps) and
        ``latents``.
    """
    plan: Dict[str, List[Step]] = dict(train=[], latents=[])
    for name in settings.uniad_runs:
        run = UNIAD_RUNS[name]
        steps = run_steps('uniad', run, f'iter_{settings.iters}.pth',
                          uniad_options(settings.iters, run), [],
                          settings.uniad_probe, settings)
        plan['train'] += steps[:2]
        plan['latents'].append(steps[2])
    for name in settings.dense_runs:
        run = DENSE_RUNS[name]
        steps = run_steps('dense', run, f'epoch_{settings.dense_epochs}.pth',
                          dense_options(settings.dense_epochs,
                                        settings.dense_root),
                          dense_root_options(settings.dense_root),
                          settings.dense_probe, settings)
        plan['train'] += steps[:2]
        plan['latents'].append(steps[2])
    return plan


def is_done(step: Step, root: str) -> bool:
    """The step's output exists and is newer than each of its inputs.

    Args:
        step (Step): the step.
        root (str): the repository root its paths are relative to.

    Returns:
        bool: whether the step can be skipped.
    """
    path = osp.join(root, step.output)
    if not osp.exists(path):
        return False
    newest = max((osp.getmtime(osp.join(root, p)) for p in step.inputs
                  if osp.isfile(osp.join(root, p))), default=0.0)
    return osp.getmtime(path) >= newest


def execute(step: Step, number: str, root: str) -> None:
    """Runs one step with this interpreter, failing loudly with its name.

    Args:
        step (Step): the step.
        number (str): ``'i/n'`` for the progress line.
        root (str): the repository root, the working directory.
    """
    cmd = [sys.executable] + step.argv
    print(f'\n==> [{number}] {step.title}\n    $ {shlex.join(cmd)}',
          flush=True)
    start = time.time()
    result = subprocess.run(cmd, cwd=root)
    if result.returncode != 0:
        raise SystemExit(f'compare_tiny: step "{step.title}" failed (exit '
                         f'{result.returncode}); the command is above')
    if not osp.exists(osp.join(root, step.output)):
        raise SystemExit(f'compare_tiny: step "{step.title}" did not write '
                         f'{step.output}')
    print(f'    done in {time.time() - start:.0f} s', flush=True)


def run_plan(steps: Sequence[Step], settings: CompareSettings,
             root: str) -> int:
    """Runs (or, with ``dry_run``, lists) the steps.

    Args:
        steps (Sequence[Step]): the steps, in order.
        settings (CompareSettings): skip_existing, dry_run.
        root (str): the repository root.

    Returns:
        int: the number of steps run (or that would run).
    """
    ran = 0
    for index, step in enumerate(steps, 1):
        number = f'{index}/{len(steps)}'
        if settings.skip_existing and is_done(step, root):
            print(f'==> [{number}] {step.title}: skipped, {step.output} '
                  f'exists', flush=True)
            continue
        ran += 1
        if settings.dry_run:
            print(f'==> [{number}] {step.title}: would run\n    $ '
                  f'{shlex.join(step.argv)}', flush=True)
        else:
            execute(step, number, root)
    return ran


def run_tool(argv: List[str], dry_run: bool, root: str) -> None:
    """Runs a table tool (summarize.py, mmd.py), printing the command.

    Args:
        argv (list[str]): the tool and its arguments.
        dry_run (bool): only print the command.
        root (str): the repository root, the working directory.
    """
    print(f'\n==> $ {shlex.join(argv)}', flush=True)
    if dry_run:
        return
    result = subprocess.run([sys.executable] + argv, cwd=root)
    if result.returncode != 0:
        raise SystemExit(f'compare_tiny: {argv[0]} failed (exit '
                         f'{result.returncode}); the command is above')


def group_commands(settings: CompareSettings, group: str, runs: Sequence[Run],
                   name: str, preset: List[str], captions: Sequence[str],
                   sections: Sequence[str] = ()) -> List[List[str]]:
    """The summarize.py and mmd.py commands of one group of runs.

    Args:
        settings (CompareSettings): the comparison.
        group (str): ``'uniad'`` or ``'dense'`` (the folder).
        runs (Sequence[Run]): the runs, one row each.
        name (str): file name stem of the tables in the work dir.
        preset (list[str]): summarize.py's column options.
        captions (Sequence[str]): the metrics and the MMD caption.
        sections (Sequence[str]): their README sections (none: not in
            the README).

    Returns:
        list[list[str]]: the two commands.
    """
    out = settings.work_dir
    dirs = [osp.join(out, group, r.name) for r in runs]
    labels = ['--labels'] + [r.label for r in runs]
    # One README option list per table; none without sections or README.
    readme = [['--readme', settings.readme, '--section', section]
              if settings.readme else [] for section in sections] or [[], []]
    return [
        ['tools/analysis/summarize.py', *dirs, *labels, *preset, '--out',
         osp.join(out, f'{name}.md'), '--csv', osp.join(out, f'{name}.csv'),
         '--caption', captions[0], *readme[0]],
        ['tools/analysis/mmd.py', *[osp.join(d, 'latents.npz') for d in dirs],
         *labels, '--permutations', str(settings.permutations),
         '--max-samples', '0', '--out', osp.join(out, f'{name}_mmd.md'),
         '--caption', captions[1], *readme[1]],
    ]


def table_commands(settings: CompareSettings) -> List[List[str]]:
    """The summarize.py and mmd.py commands of the UniAD and dense runs.

    Args:
        settings (CompareSettings): the comparison.

    Returns:
        list[list[str]]: the tool commands, in order; they write into the
        work dir and the UniAD ones into the README sections.
    """
    commands = []
    probed = f'{settings.probe_steps} steps'
    tests = f'p from {settings.permutations} permutations.'
    if settings.uniad_runs:
        commands += group_commands(
            settings, 'uniad', [UNIAD_RUNS[n] for n in settings.uniad_runs],
            'uniad', ['--preset', 'paper'],
            (f'UniAD-tiny, {settings.iters} training iterations per run '
             f'(two-stage runs align from iteration {settings.iters // 2}),'
             f' synthetic nuScenes val set; IoUs in %.',
             f'MMD² between the track and map latents z (lower = better '
             f'aligned) of the runs above; runs without surrogates are '
             f'probed ({probed}, see the protocol above); {tests}'),
            ('uniad-tiny', 'uniad-tiny-mmd'))
    if settings.dense_runs:
        reference = ['--delta-m-reference', osp.join(
            settings.work_dir, 'dense', 'stl')] \
            if 'stl' in settings.dense_runs else []
        commands += group_commands(
            settings, 'dense', [DENSE_RUNS[n] for n in settings.dense_runs],
            'nyuv2', ['--preset', 'dense', *reference],
            (f'SegNet-tiny on the synthetic NYUv2-format set '
             f'({settings.dense_root}), onelabel, {settings.dense_epochs} '
             f'epochs per run; Δm against the STL run over mIoU, abs err '
             f'and mean angle.',
             f'MMD² between the semantic / depth / normal latents z (runs '
             f'without surrogates probed, {probed}); {tests}'))
    return commands


def write_tables(settings: CompareSettings, root: str) -> None:
    """The UniAD and dense tables, into the work dir and the README.

    The dense metrics and MMD tables share one README section, so they are
    joined here after both tools wrote their files.

    Args:
        settings (CompareSettings): the comparison.
        root (str): the repository root.
    """
    for argv in table_commands(settings):
        run_tool(argv, settings.dry_run, root)
    if settings.dense_runs and settings.readme and not settings.dry_run:
        texts = []
        for name in ('nyuv2.md', 'nyuv2_mmd.md'):
            with open(osp.join(root, settings.work_dir, name)) as f:
                texts.append(f.read().strip())
        replace_section(osp.join(root, settings.readme), 'nyuv2-tiny',
                        '\n\n'.join(texts))
        print(f'wrote section nyuv2-tiny of {settings.readme}')


def data_steps(settings: CompareSettings, root: str) -> List[Step]:
    """Steps creating the synthetic sets that are missing (as the demo).

    Args:
        settings (CompareSettings): the runs and the dense set's size.
        root (str): the repository root.

    Returns:
        list[Step]: the steps, none when every set is there.
    """
    steps = []
    if settings.uniad_runs and not osp.isfile(osp.join(
            root, NUSC_ROOT, 'nuscenes_trackmap_infos_val.pkl')):
        if os.environ.get('SYNTHETIC_NUSCENES'):
            raise SystemExit(
                'compare_tiny: SYNTHETIC_NUSCENES is set; create that set '
                'yourself (see README, "Synthetic nuScenes")')
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
    if settings.dense_runs and not osp.isdir(
            osp.join(root, settings.dense_root, 'val')):
        steps.append(Step(
            'generate a synthetic NYUv2 set (MTAN .npy format)',
            ['tools/create_synthetic_nyuv2.py', '--out', settings.dense_root,
             '--train', str(settings.dense_train), '--val',
             str(settings.dense_val), '--size', '32', '48'],
            osp.join(settings.dense_root, 'val'), []))
    return steps


def compare_tiny(settings: CompareSettings, root: str) -> None:
    """Data, training and testing, latents, then the tables.

    Args:
        settings (CompareSettings): the comparison.
        root (str): the repository root (the commands run there).
    """
    start = time.time()
    plan = build_plan(settings)
    print(f'compare_tiny: {len(settings.uniad_runs)} UniAD-tiny runs '
          f'({settings.iters} iterations), {len(settings.dense_runs)} dense '
          f'runs ({settings.dense_epochs} epochs) under {settings.work_dir}',
          flush=True)
    print('\n== data ==')
    run_plan(data_steps(settings, root), settings, root)
    print('\n== training and testing ==')
    run_plan(plan['train'], settings, root)
    print('\n== latents ==')
    run_plan(plan['latents'], settings, root)
    print('\n== tables ==')
    write_tables(settings, root)
    print(f'\ncompare_tiny: finished in {(time.time() - start) / 60:.1f} min'
          f'; everything is under {osp.join(root, settings.work_dir)}')
