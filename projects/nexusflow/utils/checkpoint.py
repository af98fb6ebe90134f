"""Loading mmengine checkpoints under torch's ``weights_only`` default.

torch >= 2.6 unpickles ``torch.load`` files with ``weights_only=True``
unless told otherwise. mmengine 0.10.7 saves its message hub (a
``HistoryBuffer`` of numpy arrays) and numpy scalars in every checkpoint
and calls ``torch.load`` without the argument, so resuming and testing
fail. Instead of switching the safe default off for the whole process,
the few plain-data types such checkpoints hold are allow-listed for the
duration of the project's own loads only.
"""
import contextlib
import glob
import os.path as osp
import pickle
import re
import zipfile
from typing import Iterator, Optional

import numpy as np
import torch


def _history_method(owner, name: str):
    """Stands in for ``getattr`` while unpickling: a ``HistoryBuffer``
    pickles its statistics methods (``HistoryBuffer.min``, ...) as
    ``getattr(HistoryBuffer, 'min')``; nothing else may be looked up."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if owner is HistoryBuffer and name in ('min', 'max', 'current', 'mean'):
        return getattr(owner, name)
    raise pickle.UnpicklingError(f'getattr({owner!r}, {name!r}) is not '
                                 f'allowed in a checkpoint')


def checkpoint_types() -> list:
    """The non-tensor globals mmengine checkpoints hold (data, no code)."""
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = np.core.multiarray
    # Unpickling a dtype builds an instance of its class (Int64DType, ...).
    dtypes = [type(np.dtype(code)) for code in '?bhilqBHILQefdgFDGUS']
    return [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct,
            multiarray.scalar, *dtypes, (_history_method, 'builtins.getattr')]


@contextlib.contextmanager
def trusted_checkpoints() -> Iterator[None]:
    """Allows mmengine's checkpoint types in ``weights_only`` loads inside
    the ``with`` block; the process-wide allow-list is untouched after it.
    """
    with torch.serialization.safe_globals(checkpoint_types()):
        yield


def load_checkpoint_file(path: str, map_location: str = 'cpu',
                         mmap: bool = False) -> dict:
    """Loads an mmengine checkpoint (or a plain state dict) safely.

    Args:
        path (str): the ``.pth`` file.
        map_location (str): where tensors go. Defaults to ``'cpu'``.
        mmap (bool): map the tensors' storage instead of reading it (cheap
            checks of big files; zip-format files only).

    Returns:
        dict: ``{'meta': ..., 'state_dict': ...}`` (a plain state dict is
        wrapped as ``state_dict``), plus whatever else the file holds.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a checkpoint (names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    try:
        with trusted_checkpoints():
            ckpt = torch.load(path, map_location=map_location,
                              weights_only=True,
                              mmap=mmap and zipfile.is_zipfile(path))
    except Exception as err:  # truncated file, not a torch file, code
        reason = str(err).strip().splitlines()[0] if str(err) else \
            type(err).__name__
        reason = reason.split('. ')[0]  # torch appends paragraphs of advice
        raise ValueError(f'checkpoint {path} cannot be read as a torch '
                         f'checkpoint (truncated, or not a .pth file: '
                         f'{reason})') from None
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        return ckpt
    if isinstance(ckpt, dict) and ckpt and all(
            isinstance(v, torch.Tensor) for v in ckpt.values()):
        return dict(meta={}, state_dict=ckpt)
    raise ValueError(f'checkpoint {path} has no state_dict: expected an '
                     f'mmengine checkpoint (a dict with "state_dict") or a '
                     f'plain state dict')


def check_checkpoint_file(path: str, resume: bool = False) -> None:
    """Fails with one clear error when ``path`` is not a usable checkpoint;
    cheap for big files (the tensors are memory-mapped, not read).

    Args:
        path (str): the ``.pth`` file.
        resume (bool): it must be a training checkpoint (``meta`` with the
            iteration, ``optimizer``), as ``--resume`` needs.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: truncated, not a torch file, or not a checkpoint.
    """
    ckpt = load_checkpoint_file(path, mmap=True)
    if resume and not ('iter' in (ckpt.get('meta') or {}) and
                       'optimizer' in ckpt):
        raise ValueError(f'checkpoint {path} cannot be resumed: expected a '
                         f'training checkpoint written by tools/train.py '
                         f'(meta with the iteration, optimizer state), got '
                         f'the keys {sorted(ckpt)}')


def _step(path: str) -> int:
    match = re.search(r'(\d+)\.pth$', path)
    return int(match.group(1)) if match else -1


def find_resumable(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from: the one
    ``last_checkpoint`` names if it is whole, else the newest whole
    ``iter_*.pth`` / ``epoch_*.pth`` in ``work_dir`` (a run killed while
    writing one leaves the previous one usable).

    Args:
        work_dir (str): the run's work dir.

    Returns:
        str, optional: the checkpoint path; None when there is none.
    """
    from mmengine.logging import print_log
    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            candidates.append(f.read().strip())
    found = glob.glob(osp.join(work_dir, 'iter_*.pth')) + \
        glob.glob(osp.join(work_dir, 'epoch_*.pth'))
    candidates += sorted(found, key=_step, reverse=True)
    for path in dict.fromkeys(c for c in candidates if c):
        try:
            check_checkpoint_file(path, resume=True)
        except (FileNotFoundError, ValueError) as err:
            print_log(f'resume: skipping {path}: {err}', logger='current')
            continue
        return path
    return None
