"""Runs every benchmark script of tools/benchmarks/ and reports the ratios.

Each script runs as its own subprocess (with ``--quick`` when the script
defines that flag, unless ``--full``); the subprocess calls the script's
``main(argv)`` and hands back the dict it returns, whose ``ratios`` (see
``_measure.ratio``) one report lists per script and setting, each with its
goal and whether it is met, followed by the scripts that failed.

Scripts that read the synthetic nuScenes set (those that name
``SYNTHETIC_NUSCENES``) get it: when ``$SYNTHETIC_NUSCENES`` (default
``data/synthetic_nuscenes``) holds no track + map infos yet, the README's
two commands create it first, so a fresh clone runs every script.

Example:
    python tools/benchmarks/run_all.py
    python tools/benchmarks/run_all.py --full --only overhead.py
"""
import argparse
import glob
import json
import os
import os.path as osp
import runpy
import subprocess
import sys
import tempfile
import time
from typing import List, Optional, Sequence

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
NUSCENES_ENV = 'SYNTHETIC_NUSCENES'


def find_scripts(folder: str, only: Sequence[str] = (),
                 skip: Sequence[str] = ()) -> List[str]:
    """The benchmark scripts of ``folder``, except this runner.

    Args:
        folder (str): the folder to scan.
        only (Sequence[str]): if given, just these file names.
        skip (Sequence[str]): file names to leave out.

    Returns:
        list[str]: script paths, sorted by name.
    """
    scripts = []
    for path in sorted(glob.glob(osp.join(folder, '*.py'))):
        name = osp.basename(path)
        if name.startswith('_') or osp.samefile(path, __file__):
            continue
        if (only and name not in only) or name in skip:
            continue
        scripts.append(path)
    unknown = set(only) - {osp.basename(p) for p in scripts}
    if unknown:
        raise ValueError(f'--only: no benchmark script {sorted(unknown)} in '
                         f'{folder}')
    return scripts


def supports_quick(path: str) -> bool:
    """Whether the script defines a ``--quick`` option."""
    with open(path) as f:
        source = f.read()
    return "'--quick'" in source or '"--quick"' in source


def needs_synthetic_nuscenes(path: str) -> bool:
    """Whether the script reads the synthetic nuScenes set (names its
    environment variable)."""
    with open(path) as f:
        return NUSCENES_ENV in f.read()


def ensure_synthetic_nuscenes(root: str) -> None:
    """Creates the synthetic nuScenes set and its infos at ``root`` with
    the README's two commands, unless its track + map infos exist.

    Args:
        root (str): the data root (the tiny configs' ``data_root``).
    """
    if osp.isfile(osp.join(root, 'nuscenes_trackmap_infos_train.pkl')):
        return
    tools = osp.join(REPO, 'tools')
    for cmd in ([osp.join(tools, 'create_synthetic_nuscenes.py'), '--out',
                 root],
                [osp.join(tools, 'create_data.py'), 'nuscenes', '--root',
                 root, '--version', 'v1.0-mini', '--out', root]):
        shown = ' '.join(osp.relpath(c, REPO) if c.startswith(REPO) else c
                         for c in cmd)
        print(f'creating the synthetic nuScenes set: python {shown}',
              flush=True)
        proc = subprocess.run([sys.executable, *cmd], cwd=REPO,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            raise ValueError(f'could not create the synthetic nuScenes set '
                             f'in {root}: {lines[-1] if lines else "?"}')


def run_child(path: str, out: str, argv: Sequence[str]) -> None:
    """In the subprocess: runs ``main(argv)`` of a script, saves its dict.

    Args:
        path (str): the benchmark script.
        out (str): the JSON file that gets the returned dict.
        argv (Sequence[str]): the script's command line.
    """
    # As when the script runs itself: its folder first on the path.
    sys.path.insert(0, osp.dirname(osp.abspath(path)))
    sys.argv = [path, *argv]
    script = runpy.run_path(path, run_name='benchmark')
    if 'main' not in script:
        raise SystemExit(f'error: {path} has no main(argv)')
    result = script['main'](list(argv))
    with open(out, 'w') as f:
        json.dump(result or {}, f, default=str)


def run_script(path: str, full: bool, timeout: float) -> dict:
    """Runs one benchmark script in a subprocess.

    Args:
        path (str): the script.
        full (bool): never pass ``--quick``.
        timeout (float): seconds before the script is stopped.

    Returns:
        dict: ``name``, ``flags``, ``seconds``, ``ok``, ``result`` (the
        dict its ``main`` returned; empty when it failed) and ``error``
        (the last output line when it failed).
    """
    flags = ['--quick'] if not full and supports_quick(path) else []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, 'result.json')
        cmd = [sys.executable, osp.abspath(__file__), '--child', path, out,
               *flags]
        res = dict(name=osp.basename(path), flags=flags, result={},
                   error=None)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return dict(res, ok=False, seconds=time.perf_counter() - start,
                        error=f'stopped after {timeout:g} s')
        res.update(ok=proc.returncode == 0,
                   seconds=time.perf_counter() - start)
        if res['ok'] and osp.isfile(out):
            with open(out) as f:
                res['result'] = json.load(f)
    if not res['ok']:
        # The last line of stderr usually names the cause (an exception or
        # an `error: ...` exit); stdout is the fallback.
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        tail = lines[-1] if lines else 'no output'
        res['error'] = f'exit code {proc.returncode}: {tail}'
    return res


def ratio_line(entry: dict) -> str:
    """One ratio of a result, with its goal or a note that it has none."""
    line = f"{entry['name']} {entry['value']:.4g}"
    goal = entry.get('goal')
    if goal is None:
        return f'{line}   [no goal stated]'
    verdict = 'met' if entry['value'] <= goal else 'NOT met'
    return f'{line} (goal <= {goal:g}: {verdict})'


def report(results: Sequence[dict]) -> str:
    """The combined report of several runs of :func:`run_script`."""
    out = ['== benchmark ratios ==']
    for res in results:
        flags = ''.join(f' {flag}' for flag in res['flags'])
        out.append(f"-- {res['name']}{flags} ({res['seconds']:.1f} s)")
        ratios = res['result'].get('ratios') or []
        if not ratios:
            out.append('   (no ratio)')
        section = None
        for entry in ratios:
            if entry.get('section') and entry['section'] != section:
                section = entry['section']
                out.append(f'   -- {section}')
            out.append(f'     {ratio_line(entry)}')
    failed = [res for res in results if not res['ok']]
    out.append(f'== {len(results) - len(failed)}/{len(results)} scripts '
               f'succeeded ==')
    out += [f"FAILED {res['name']}: {res['error']}" for res in failed]
    return '\n'.join(out)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run all benchmark scripts and report their ratios')
    parser.add_argument('--dir', default=HERE,
                        help='folder of the benchmark scripts')
    parser.add_argument('--only', nargs='+', default=[],
                        help='run just these script names')
    parser.add_argument('--skip', nargs='+', default=[],
                        help='script names to leave out')
    parser.add_argument('--full', action='store_true',
                        help='never pass --quick')
    parser.add_argument('--timeout', type=float, default=1800,
                        help='seconds per script')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Runs the scripts, prints the report, exits 1 if one failed.

    Args:
        argv (Sequence[str], optional): options (None: sys.argv).

    Returns:
        dict: ``scripts``, the :func:`run_script` result of each.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ['--child']:  # the subprocess of one script
        run_child(argv[1], argv[2], argv[3:])
        return {}
    args = parse_args(argv)
    try:
        scripts = find_scripts(args.dir, args.only, args.skip)
    except ValueError as err:
        sys.exit(f'error: {err}')
    if not scripts:
        sys.exit(f'error: no benchmark script in {args.dir}')
    if any(needs_synthetic_nuscenes(path) for path in scripts):
        root = os.environ.get(NUSCENES_ENV) or osp.join(
            REPO, 'data', 'synthetic_nuscenes')
        try:
            ensure_synthetic_nuscenes(root)
        except ValueError as err:
            sys.exit(f'error: {err}')
        os.environ[NUSCENES_ENV] = root  # the scripts' subprocesses
    results = []
    for path in scripts:
        print(f'running {osp.basename(path)} ...', flush=True)
        results.append(run_script(path, args.full, args.timeout))
    print(report(results))
    if not all(res['ok'] for res in results):
        sys.exit(1)
    return dict(scripts=results)


if __name__ == '__main__':
    main()
