"""Runs every benchmark script of tools/benchmarks/ and reports the ratios.

Each script runs as its own subprocess (with ``--quick`` when the script
defines that flag, unless ``--full``); every output line that mentions a
ratio is collected, and one report lists them per script with whether the
line states its goal, followed by the scripts that failed.

Example:
    python tools/benchmarks/run_all.py
    python tools/benchmarks/run_all.py --full --only overhead.py
"""
import argparse
import glob
import os.path as osp
import re
import subprocess
import sys
import time
from typing import List, Sequence

HERE = osp.dirname(osp.abspath(__file__))
RATIO = re.compile(r'\bratio', re.IGNORECASE)
HEADING = re.compile(r'\s*(==|--)')


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


def ratio_lines(output: str) -> List[str]:
    """The lines of ``output`` that report a ratio, each preceded by the
    section heading (a line starting with ``==`` or ``--``) it falls under,
    so that ratios of different settings can be told apart."""
    lines, heading = [], None
    for line in output.splitlines():
        if HEADING.match(line):
            heading = line.strip()
        elif RATIO.search(line):
            if heading is not None:
                lines.append(heading)
                heading = None
            lines.append(line.strip())
    return lines


def run_script(path: str, full: bool, timeout: float) -> dict:
    """Runs one benchmark script.

    Args:
        path (str): the script.
        full (bool): never pass ``--quick``.
        timeout (float): seconds before the script is stopped.

    Returns:
        dict: ``name``, ``cmd``, ``seconds``, ``ok``, ``lines`` (ratio
        lines) and ``error`` (the last output line when it failed).
    """
    cmd = [sys.executable, path]
    if not full and supports_quick(path):
        cmd.append('--quick')
    start = time.perf_counter()
    try:
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired as err:
        output = (err.stdout or b'')
        output = output.decode() if isinstance(output, bytes) else output
        return dict(name=osp.basename(path), cmd=cmd, ok=False,
                    seconds=time.perf_counter() - start,
                    lines=ratio_lines(output),
                    error=f'stopped after {timeout:g} s')
    # The last line of stderr usually names the cause (an exception or an
    # `error: ...` exit); stdout is the fallback.
    lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
    tail = lines[-1] if lines else 'no output'
    return dict(name=osp.basename(path), cmd=cmd,
                ok=result.returncode == 0,
                seconds=time.perf_counter() - start,
                lines=ratio_lines(result.stdout),
                error=None if result.returncode == 0 else
                f'exit code {result.returncode}: {tail}')


def report(results: Sequence[dict]) -> str:
    """The combined report of several runs of :func:`run_script`."""
    out = ['== benchmark ratios ==']
    for res in results:
        flag = ' --quick' if '--quick' in res['cmd'] else ''
        out.append(f"-- {res['name']}{flag} ({res['seconds']:.1f} s)")
        if not res['lines']:
            out.append('   (no ratio line)')
        for line in res['lines']:
            if HEADING.match(line):
                out.append(f'   {line}')
                continue
            note = '' if 'goal' in line.lower() else '   [no goal stated]'
            out.append(f'     {line}{note}')
    failed = [res for res in results if not res['ok']]
    out.append(f'== {len(results) - len(failed)}/{len(results)} scripts '
               f'succeeded ==')
    out += [f"FAILED {res['name']}: {res['error']}" for res in failed]
    return '\n'.join(out)


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        scripts = find_scripts(args.dir, args.only, args.skip)
    except ValueError as err:
        sys.exit(f'error: {err}')
    if not scripts:
        sys.exit(f'error: no benchmark script in {args.dir}')
    results = []
    for path in scripts:
        print(f'running {osp.basename(path)} ...', flush=True)
        results.append(run_script(path, args.full, args.timeout))
    print(report(results))
    sys.exit(0 if all(res['ok'] for res in results) else 1)


if __name__ == '__main__':
    main()
