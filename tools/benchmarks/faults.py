"""Fault drills: what training and the tools do when things go wrong.

Runs each fault through the real command lines on the synthetic nuScenes
set and prints one table row per fault: what happened and whether anything
was lost. The table is the README's "Reliability" section.

- SIGKILL of rank 0 while it writes a checkpoint (2 gloo processes), then
  ``--resume``; compared with an uninterrupted run of the same seed.
- NaN / Inf during training (2 gloo processes, one run): a NaN feature at a
  surrogate's tap, an exploding latent (alignment loss Inf), a NaN task
  loss on one process only (``FaultInjectionHook``).
- Broken input files: each tool's ``error:`` line.

Example:
    python tools/benchmarks/faults.py --data-root data/synthetic_nuscenes
    python tools/benchmarks/faults.py --readme README.md   # section faults
"""
import argparse
import json
import os
import os.path as osp
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from typing import List, Optional, Sequence

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow
from _measure import ratio

import_nexusflow()
from nexusflow.analysis.readme import publish
from nexusflow.utils.checkpoint import trusted_checkpoints

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HOOK = osp.join(REPO, 'configs', 'nexusflow',
                'centerpoint_pillar_domainsplit_hook_tiny.py')
UNIAD = osp.join(REPO, 'configs', 'nexusflow', 'uniad_domainsplit_tiny.py')
DENSE = osp.join(REPO, 'configs', 'dense',
                 'nyuv2_segnet_nexusflow_onelabel_tiny.py')
SEEDED = ['train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=1',
          'randomness.seed=0']


class Drills:
    """Runs the tools in a scratch folder on one data root."""

    def __init__(self, data_root: str, scratch: str, port: int) -> None:
        self.data_root, self.scratch, self.port = data_root, scratch, port

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess:
        """Runs a command in the repository; output kept."""
        self.port += 1
        env = dict(os.environ, SYNTHETIC_NUSCENES=self.data_root,
                   PYTHON=sys.executable, OMP_NUM_THREADS='1',
                   PORT=str(self.port))
        return subprocess.run(list(args), cwd=REPO, env=env, text=True,
                              capture_output=True, timeout=1800)

    def train(self, config: str, work: str, iters: int, procs: int = 2,
              extra: Sequence[str] = ()) -> subprocess.CompletedProcess:
        """``tools/dist_train.sh CONFIG 2`` (or train.py) for ``iters``."""
        launch = ['bash', 'tools/dist_train.sh', config, str(procs)] \
            if procs > 1 else [sys.executable, 'tools/train.py', config]
        return self.run(launch + ['--work-dir', work, *extra,
                                  '--cfg-options',
                                  f'train_cfg.max_iters={iters}', *SEEDED])

    def with_faults(self, name: str, faults: List[dict]) -> str:
        """A config: the hook config plus ``FaultInjectionHook`` s."""
        path = osp.join(self.scratch, f'{name}.py')
        with open(path, 'w') as f:
            f.write(f'_base_ = [{HOOK!r}]\ncustom_hooks = _base_.custom_hooks'
                    f' + {faults!r}\n')
        return path

    def path(self, *names: str) -> str:
        return osp.join(self.scratch, *names)


def final_state(path: str) -> dict:
    """A checkpoint's weights (host + surrogates) and loss history."""
    with trusted_checkpoints():
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
    weights = dict(ckpt['state_dict'])
    weights.update({f'nexusflow.{k}': v for k, v in
                    ckpt.get('nexusflow', {}).get('state_dict', {}).items()})
    losses = ckpt['message_hub']['log_scalars']['train/loss'].data[0]
    return dict(weights=weights, losses=[float(v) for v in losses])


def same(a: dict, b: dict) -> bool:
    return a['losses'] == b['losses'] and a['weights'].keys() == \
        b['weights'].keys() and all(torch.equal(v, b['weights'][k])
                                    for k, v in a['weights'].items())


def finite(state: dict) -> bool:
    return all(torch.isfinite(v).all() for v in state['weights'].values()
               if v.is_floating_point())


def kill_during_save(drills: Drills) -> List[list]:
    """SIGKILL mid-write of iter_2.pth under 2 processes, then --resume."""
    full = drills.path('full')
    assert drills.train(HOOK, full, 2).returncode == 0, 'reference run'
    work = drills.path('killed')
    killer = drills.with_faults('kill', [dict(
        type='FaultInjectionHook', fault='kill_during_save', at=2)])
    killed = drills.train(killer, work, 2)
    part = osp.join(work, 'iter_2.pth.part')
    size = osp.getsize(part) / 2**20 if osp.isfile(part) else 0
    with open(osp.join(work, 'last_checkpoint')) as f:
        pointer = osp.basename(f.read().strip())
    resumed = drills.train(HOOK, work, 2, extra=['--resume'])
    picked = re.search(r'resumed epoch: \d+, iter: (\d+)',
                       resumed.stdout + resumed.stderr)
    ok = resumed.returncode == 0 and same(
        final_state(osp.join(full, 'iter_2.pth')),
        final_state(osp.join(work, 'iter_2.pth')))
    happened = (f'rank 0 killed halfway through iter_2.pth (exit '
                f'{killed.returncode}): {size:.1f} MB in iter_2.pth.part, '
                f'no iter_2.pth, last_checkpoint still {pointer}; '
                f'`--resume` continued from iteration '
                f'{picked.group(1) if picked else "?"}')
    lost = 'nothing: losses and weights (host + surrogates) bit-identical ' \
        'to the uninterrupted run' if ok else 'DIFFERS from the ' \
        'uninterrupted run'
    return [['SIGKILL while saving a checkpoint', '2', happened, lost, ok]]


def nonfinite_steps(drills: Drills) -> List[list]:
    """NaN tap feature (it. 1), Inf latent (it. 2), NaN task loss on rank 1
    only (it. 3), one 2-process run."""
    config = drills.with_faults('nan', [
        dict(type='FaultInjectionHook', fault='nan_feature', at=1, rank=0),
        dict(type='FaultInjectionHook', fault='exploding_latent', at=2,
             rank=0),
        dict(type='FaultInjectionHook', fault='nan_loss', at=3, rank=1)])
    work = drills.path('nan')
    result = drills.train(config, work, 3)
    log = result.stdout + result.stderr
    dropped = re.findall(r'SurrogateBank: the alignment loss is (\S+);', log)
    skipped = log.count('FiniteOptimWrapper: the loss or a gradient')
    state = final_state(osp.join(work, 'iter_3.pth')) \
        if result.returncode == 0 else None
    ok = bool(state) and finite(state)
    weights = 'every weight finite' if ok else 'NON-FINITE weights'
    return [
        ['NaN feature at a surrogate tap (rank 0)', '2',
         f'alignment loss {dropped[0] if dropped else "?"}: that step\'s '
         f'alignment dropped with a warning (SurrogateBank.nonfinite_steps)'
         f', the host trained on its task losses; exit '
         f'{result.returncode}', f'that step\'s alignment only; {weights}',
         ok and len(dropped) > 0],
        ['Exploding flow: latent x 1e30 (rank 0)', '2',
         f'alignment loss {dropped[1] if len(dropped) > 1 else "?"}: '
         f'dropped the same way', f'that step\'s alignment only; {weights}',
         ok and len(dropped) > 1],
        ['NaN task loss on rank 1 only', '2',
         f'both processes skipped that optimizer step together '
         f'({skipped} warning line on rank 0, FiniteOptimWrapper.'
         f'skipped_steps), no hang; the next step trained',
         f'one step\'s update; {weights}', ok and skipped == 1],
    ]


def broken_files(drills: Drills, nyuv2_root: Optional[str]) -> List[list]:
    """Each tool's answer to a broken input file."""
    good = osp.join(drills.path('full'), 'iter_1.pth')
    data = open(good, 'rb').read()
    cut = drills.path('cut.pth')
    open(cut, 'wb').write(data[:len(data) // 2])
    notes = drills.path('notes.pth')
    open(notes, 'w').write('not a checkpoint\n')
    infos = osp.join(drills.data_root, 'nuscenes_trackmap_infos_train.pkl')
    cut_pkl = drills.path('cut_infos.pkl')
    open(cut_pkl, 'wb').write(open(infos, 'rb').read()[:5000])
    list_pkl = drills.path('list_infos.pkl')
    pickle.dump([1, 2], open(list_pkl, 'wb'))
    child = drills.path('child.py')
    open(child, 'w').write("_base_ = ['./gone_base.py']\n")
    work = ['--work-dir', drills.path('w')]
    py = sys.executable
    cases = [
        ('truncated .pth to `train.py --resume`',
         [py, 'tools/train.py', HOOK, *work, '--resume', cut]),
        ('text file as .pth to `test.py`',
         [py, 'tools/test.py', HOOK, notes, *work]),
        ('truncated .pth to `deploy.py`',
         [py, 'tools/deploy.py', HOOK, cut, drills.path('deploy')]),
        ('truncated .pth to `convert_checkpoint.py`',
         [py, 'tools/convert_checkpoint.py', 'bevformer', cut,
          drills.path('converted.pth')]),
        ('truncated infos .pkl',
         [py, 'tools/train.py', UNIAD, *work, '--cfg-options',
          f'train_dataloader.dataset.dataset.ann_file={cut_pkl}']),
        ('infos .pkl of the wrong schema (a list)',
         [py, 'tools/train.py', UNIAD, *work, '--cfg-options',
          f'train_dataloader.dataset.dataset.ann_file={list_pkl}']),
        ('config whose `_base_` is missing',
         [py, 'tools/train.py', child, *work]),
    ]
    if nyuv2_root:
        weights = drills.path('onelabel.pth')
        torch.save({'labels_weights': torch.ones(3, 3)}, weights)
        cases.append(('label-weights file of the wrong shape', [
            py, 'tools/train.py', DENSE, *work, '--cfg-options',
            *[f'{k}_dataloader.dataset.data_root={nyuv2_root}'
              for k in ('train', 'val', 'test')],
            f'train_dataloader.dataset.labels_weights={weights}']))
    maps = drills.path('maps_root')  # tables and maps copied, data linked
    for name in ('maps', 'v1.0-mini'):
        shutil.copytree(osp.join(drills.data_root, name),
                        osp.join(maps, name))
    for name in ('samples', 'sweeps'):
        os.symlink(osp.join(drills.data_root, name), osp.join(maps, name))
    layer_file = osp.join(maps, 'maps', 'expansion', 'boston-seaport.json')
    layers = json.load(open(layer_file))
    del layers['lane_divider']
    json.dump(layers, open(layer_file, 'w'))
    cases.append(('map expansion json without `lane_divider`', [
        py, 'tools/create_data.py', 'nuscenes', '--root', maps,
        '--version', 'v1.0-mini', '--out', drills.path('maps_out')]))
    rows = []
    for fault, args in cases:
        result = drills.run(args)
        text = result.stdout + result.stderr
        errors = [line for line in text.splitlines()
                  if line.startswith('error:')]
        one_line = len(errors) == 1 and 'Traceback' not in text
        if one_line:
            line = errors[0].split(' (--debug')[0]
            line = line if len(line) < 200 else line[:197] + '...'
            what = f'exit {result.returncode}, one line: `{line}`'
        else:
            last = text.strip().splitlines()[-1] if text.strip() else ''
            what = (f'exit {result.returncode}, {len(errors)} error lines, '
                    f'traceback: {"yes" if "Traceback" in text else "no"}; '
                    f'last line: `{last[:120]}`')
        rows.append([fault, '1', what, 'nothing (the run stops before it '
                     'writes anything)', one_line])
    return rows


def table(rows: List[list]) -> str:
    lines = ['| fault | processes | what happened | lost |',
             '|---|---|---|---|']
    lines += ['| ' + ' | '.join(row[:4]) + ' |' for row in rows]
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default='data/synthetic_nuscenes',
                        help='synthetic nuScenes root with the infos')
    parser.add_argument('--nyuv2-root', default='data/synthetic_nyuv2_tiny',
                        help='synthetic NYUv2 set (label-weights drill)')
    parser.add_argument('--work-dir', help='scratch folder (default: temp)')
    parser.add_argument('--port', type=int, default=29650)
    parser.add_argument('--readme', help='write the table into this '
                        'markdown file\'s section "faults"')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    root = osp.abspath(args.data_root)
    if not osp.isfile(osp.join(root, 'nuscenes_trackmap_infos_train.pkl')):
        raise SystemExit(f'error: {root} has no nuscenes_trackmap_infos_'
                         f'train.pkl; create it (README, "Data")')
    nyuv2 = osp.abspath(args.nyuv2_root) if osp.isdir(args.nyuv2_root) \
        else None
    scratch = args.work_dir or tempfile.mkdtemp(prefix='faults_')
    drills = Drills(root, scratch, args.port)
    rows = kill_during_save(drills) + nonfinite_steps(drills) + \
        broken_files(drills, nyuv2)
    text = publish(table(rows), caption=(
        'Made by `python tools/benchmarks/faults.py` (CenterPoint-tiny + '
        'NexusFlowHook on the synthetic set for the training faults).'),
        readme=args.readme, section='faults')
    print(text)
    failed = [row[0] for row in rows if not row[4]]
    if failed:
        print(f'not handled as expected: {failed}')
    return dict(rows=rows, failed=failed, ratios=[ratio(
        'faults not handled (lost work, NaN weights, no one-line error)',
        len(failed) / len(rows), goal=0.0)])


if __name__ == '__main__':
    main()
