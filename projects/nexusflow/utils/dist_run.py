"""The launcher behind ``tools/dist_train.sh`` and ``tools/dist_test.sh``.

``python -m nexusflow.utils.dist_run TORCHRUN_ARGS...`` runs
``torch.distributed.run`` with two additions. It refuses to start CPU
processes when GPUs are visible but the Python it runs has no CUDA torch
(8 gloo processes at full size would run for days instead of failing), and
says in one line when it falls back to gloo. A failed process already
printed its own ``error:`` line (``one_line_errors``), so torchrun's report
and traceback are left out; other failures get one summary line.
"""
import logging
import os
import shutil
import subprocess
import sys
from typing import List, Optional

ALLOW_CPU_ENV = 'NEXUSFLOW_ALLOW_CPU'


def visible_gpus() -> int:
    """How many GPUs this process could use: ``CUDA_VISIBLE_DEVICES`` when
    set, else the GPUs ``nvidia-smi -L`` lists (0 without nvidia-smi)."""
    devices = os.environ.get('CUDA_VISIBLE_DEVICES')
    if devices is not None:
        return len([d for d in devices.split(',')
                    if d.strip() and d.strip() != '-1'])
    smi = shutil.which('nvidia-smi')
    if smi is None:
        return 0
    try:
        listing = subprocess.run([smi, '-L'], capture_output=True,
                                 text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    if listing.returncode != 0:
        return 0
    return sum(line.startswith('GPU ') for line in listing.stdout.splitlines())


def check_device(nproc: str) -> Optional[str]:
    """Stops when GPUs are visible but torch has no CUDA.

    Args:
        nproc (str): processes per node, for the message.

    Returns:
        str, optional: a note to print when the run falls back to CPU.

    Raises:
        SystemExit: with one ``error:`` line naming the Python and how to
            point the script at a CUDA environment.
    """
    import torch
    if torch.cuda.is_available():
        return None
    gpus = visible_gpus()
    if gpus and os.environ.get(ALLOW_CPU_ENV, '') in ('', '0'):
        raise SystemExit(
            f'error: {gpus} GPU(s) are visible but {sys.executable} has '
            f'torch {torch.__version__} without CUDA; run the script with a '
            f'CUDA environment, e.g. PYTHON=/path/to/cuda-env/bin/python '
            f'tools/dist_train.sh ... (see README, "Your own (CUDA) '
            f'environment"), or set {ALLOW_CPU_ENV}=1 to run on the CPU')
    return (f'note: no CUDA in {sys.executable}: running {nproc} CPU '
            f'process(es) on the gloo backend')


def main(argv: Optional[List[str]] = None) -> int:
    """Runs torchrun with ``argv``; returns the exit status."""
    from torch.distributed.elastic.multiprocessing.errors import \
        ChildFailedError
    from torch.distributed.run import parse_args, run
    args = parse_args(sys.argv[1:] if argv is None else argv)
    note = check_device(str(args.nproc_per_node))
    if note:
        print(note, file=sys.stderr, flush=True)
    # torchrun logs its OMP_NUM_THREADS banner and every failed or stopped
    # process; the processes' own output says what went wrong.
    logging.getLogger('torch.distributed.run').setLevel(logging.ERROR)
    logging.getLogger('torch.distributed.elastic').setLevel(logging.CRITICAL)
    try:
        run(args)
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        if failure.exitcode != 1:  # 1: the process printed its error line
            print(f'error: process {rank} of {args.training_script} exited '
                  f'with code {failure.exitcode}; its output is above',
                  file=sys.stderr)
        return failure.exitcode if failure.exitcode > 0 else 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
