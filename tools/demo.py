"""The project's main job on its embedded default: synthetic data it makes
itself, short trainings and evaluations, each through the real tools.

1. nuScenes (synthetic, devkit format): UniAD-style track + map model with
   NexusFlow, two stages, under the Boston-map / Singapore-track split, then
   AMOTA / AMOTP / IDS and map IoUs overall and per domain.
2. NYUv2 (synthetic, MTAN .npy format, onelabel): STL, MTL, JTR and
   NexusFlow, then the dense metrics with Delta_m against STL.
3. Pictures: the track + map test frames drawn (a GIF per scene), the
   PCA scree plot of the dense methods' latents and the PCA scatter of
   the track + map latents by task and city; their paths are printed.

Run by ``make demo``; every step is a plain command, printed before it runs.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The tiny configs read their data from here (their `data_root`).
NUSC_ROOT = 'data/synthetic_nuscenes'
NYU_ROOT = 'data/synthetic_nyuv2_tiny'
UNIAD = 'configs/nexusflow/uniad_domainsplit_tiny.py'
DENSE = 'configs/dense/nyuv2_segnet_{}_onelabel_tiny.py'
DENSE_METHODS = ('stl', 'mtl', 'jtr', 'nexusflow')
DENSE_METRICS = ('miou', 'pix_acc', 'abs_err', 'rel_err', 'mean_angle',
                 'median_angle')


def run(step: str, args: list) -> None:
    """Runs one tool with this interpreter, failing loudly with its name."""
    cmd = [sys.executable] + args
    print(f'\n==> {step}\n    $ {" ".join(cmd)}', flush=True)
    start = time.time()
    result = subprocess.run(cmd, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(f'demo: step "{step}" failed (exit '
                         f'{result.returncode}); the command is above')
    print(f'    done in {time.time() - start:.0f} s', flush=True)


def train_and_test(name: str, config: str, work_dir: str,
                   options: list) -> dict:
    """Trains a config, tests its last checkpoint and returns the metrics."""
    run(f'train {name}', ['tools/train.py', config, '--work-dir', work_dir] +
        (['--cfg-options'] + options if options else []))
    with open(osp.join(ROOT, work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    run(f'test {name}', ['tools/test.py', config, ckpt, '--work-dir',
                         work_dir])
    with open(osp.join(ROOT, work_dir, 'metrics.json')) as f:
        return json.load(f)


def uniad_options(iters: int) -> list:
    """Stretches the tiny schedule: stage 2 (alignment) in the second half."""
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}',
            f'param_scheduler.1.T_max={iters}',
            f'param_scheduler.1.end={iters}',
            f'custom_hooks.0.begin_iter={iters // 2}',
            f'custom_hooks.0.warmup_iters={max(iters // 10, 1)}']


def nuscenes_table(metrics: dict) -> str:
    """AMOTA, AMOTP, IDS and map IoUs, overall / Boston / Singapore."""
    cols = [('AMOTA', 'tracking/{}amota'), ('AMOTP', 'tracking/{}amotp'),
            ('IDS', 'tracking/{}ids'), ('lanes', 'map/{}iou_lanes'),
            ('divider', 'map/{}iou_divider'),
            ('crossing', 'map/{}iou_crossing'),
            ('contour', 'map/{}iou_contour'),
            ('drivable', 'map/{}iou_drivable')]
    lines = ['| domain | ' + ' | '.join(c for c, _ in cols) + ' |',
             '|---' * (len(cols) + 1) + '|']
    for domain, key in (('all', ''), ('Boston', 'boston/'),
                        ('Singapore', 'singapore/')):
        cells = [_fmt(metrics.get(pattern.format(key)))
                 for _, pattern in cols]
        lines.append(f'| {domain} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def dense_table(results: dict) -> str:
    """Dense metrics per method with Delta_m against the STL run."""
    from nexusflow.evaluation import delta_m
    reference = {m: results['stl'][m] for m in DENSE_METRICS}
    lines = ['| method | ' + ' | '.join(DENSE_METRICS) + ' | Δm (%) |',
             '|---' * (len(DENSE_METRICS) + 2) + '|']
    for method, metrics in results.items():
        cells = [_fmt(metrics[m]) for m in DENSE_METRICS]
        cells.append(_fmt(delta_m(metrics, reference)))
        lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _fmt(value) -> str:
    if value is None:
        return '–'
    if isinstance(value, float) and value != int(value):
        return f'{value:.3f}'
    return str(int(value)) if isinstance(value, float) else str(value)


def draw_pictures(work_dir: str, uniad_dir: str) -> dict:
    """One scene of the track + map run drawn (BEV + cameras, a GIF), and
    the latent plots: the scree of the dense methods and the PCA scatter
    of the UniAD run's task latents by city.

    Args:
        work_dir (str): the demo's work dir.
        uniad_dir (str): the UniAD-tiny run.

    Returns:
        dict: ``gif``, ``scree`` and ``scatter`` paths.
    """
    def last_checkpoint(folder: str) -> str:
        with open(osp.join(ROOT, folder, 'last_checkpoint')) as f:
            return f.read().strip()

    show = osp.join(uniad_dir, 'show')
    run('draw the UniAD-tiny test frames (BEV + cameras, a GIF per scene)',
        ['tools/test.py', UNIAD, last_checkpoint(uniad_dir), '--work-dir',
         osp.join(uniad_dir, 'show_test'), '--show-dir', show])
    latents = osp.join(uniad_dir, 'latents.npz')
    run('collect the UniAD-tiny task latents',
        ['tools/analysis/collect_latents.py', UNIAD,
         last_checkpoint(uniad_dir), '--out', latents])
    dense_latents = []
    for method in DENSE_METHODS:
        folder = osp.join(work_dir, f'nyuv2_{method}_onelabel_tiny')
        probe = [] if method == 'nexusflow' else [
            '--probe-config', DENSE.format('nexusflow'), '--probe-steps',
            '20']
        dense_latents.append(osp.join(folder, 'latents.npz'))
        run(f'collect the NYUv2 {method} latents',
            ['tools/analysis/collect_latents.py', DENSE.format(method),
             last_checkpoint(folder), '--out', dense_latents[-1]] + probe)
    plots = dict(scree=osp.join(work_dir, 'plots', 'scree_nyuv2.png'),
                 scatter=osp.join(work_dir, 'plots', 'latents_uniad.png'))
    os.makedirs(osp.join(ROOT, work_dir, 'plots'), exist_ok=True)
    run('PCA scree plot of the dense methods\' latents',
        ['tools/analysis/pca_scree.py'] + dense_latents +
        ['--labels'] + [m.upper() for m in DENSE_METHODS] +
        ['--out', plots['scree']])
    run('PCA scatter of the UniAD-tiny latents (task x city)',
        ['tools/analysis/latent_scatter.py', latents, '--labels',
         'UniAD-tiny + NexusFlow', '--out', plots['scatter']])
    gifs = sorted(f for f in os.listdir(osp.join(ROOT, show))
                  if f.endswith('.gif'))
    return dict(gif=osp.join(show, gifs[0]) if gifs else None, **plots)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--uniad-iters', type=int, default=300,
                        help='training iterations of the track + map model')
    parser.add_argument('--dense-epochs', type=int, default=20,
                        help='training epochs of each dense method')
    args = parser.parse_args()
    start = time.time()

    if not osp.isfile(osp.join(ROOT, NUSC_ROOT,
                               'nuscenes_trackmap_infos_val.pkl')):
        run('generate a synthetic nuScenes set (devkit format)',
            ['tools/create_synthetic_nuscenes.py', '--out', NUSC_ROOT])
        run('convert it (mmdet3d converters + track/map infos)',
            ['tools/create_data.py', 'nuscenes', '--root', NUSC_ROOT,
             '--version', 'v1.0-mini', '--out', NUSC_ROOT])
    else:
        print(f'==> using the synthetic nuScenes set in {NUSC_ROOT}')
    uniad_dir = osp.join(args.work_dir, 'uniad_domainsplit_tiny')
    uniad = train_and_test('UniAD-tiny + NexusFlow (domain split)', UNIAD,
                           uniad_dir, uniad_options(args.uniad_iters))

    if not osp.isdir(osp.join(ROOT, NYU_ROOT, 'val')):
        run('generate a synthetic NYUv2 set (MTAN .npy format)',
            ['tools/create_synthetic_nyuv2.py', '--out', NYU_ROOT, '--train',
             '8', '--val', '4', '--size', '32', '48'])
    epochs = args.dense_epochs
    dense = {}
    for method in DENSE_METHODS:
        dense[method] = train_and_test(
            f'NYUv2 {method} (onelabel)', DENSE.format(method),
            osp.join(args.work_dir, f'nyuv2_{method}_onelabel_tiny'),
            [f'train_cfg.max_epochs={epochs}',
             f'train_cfg.val_interval={epochs}',
             f'default_hooks.checkpoint.interval={epochs}'])
    dense = {m: {k.rsplit('/', 1)[-1]: v for k, v in r.items()}
             for m, r in dense.items()}
    pictures = draw_pictures(args.work_dir, uniad_dir)

    print('\n==> demo finished in '
          f'{(time.time() - start) / 60:.1f} min (synthetic data, tiny '
          'models: the numbers show the pipeline works, not the method)')
    print(f'\nnuScenes, UniAD-tiny + NexusFlow, map labels in Boston only, '
          f'track labels in Singapore only ({args.uniad_iters} iterations):')
    print(nuscenes_table(uniad))
    print(f'\nNYUv2 onelabel, SegNet-tiny ({epochs} epochs):')
    print(dense_table(dense))
    print('\nlogs, checkpoints and metrics.json: '
          f'{osp.join(ROOT, args.work_dir)}')
    print(f'one scene drawn (GIF): {pictures["gif"]}\n'
          f'PCA scree plot:        {pictures["scree"]}\n'
          f'latent scatter plot:   {pictures["scatter"]}')


if __name__ == '__main__':
    os.chdir(ROOT)
    main()
