"""One ``error:`` line for mistakes in the user's config, data or
NexusFlow settings, instead of a deep traceback (once, not once per rank).
"""
import contextlib
import json
import os
import os.path as osp
import pickle
import struct
import sys
import traceback
import zipfile
from typing import Iterator, Optional

# What a wrong config, data file or argument raises: our own checks
# (ValueError, FileNotFoundError, ...), mmengine's registry (KeyError for an
# unknown type, TypeError for an unknown argument) and mmdet3d's asserts.
USER_ERRORS = (ValueError, TypeError, KeyError, FileNotFoundError,
               FileExistsError, NotADirectoryError, AssertionError)
DEBUG_ENV = 'NEXUSFLOW_DEBUG'
# What reading a truncated file or one of another format raises; a user
# error when the file being read can be named (see ``file_being_read``).
DECODE_ERRORS = (pickle.UnpicklingError, EOFError, UnicodeDecodeError,
                 json.JSONDecodeError, zipfile.BadZipFile, struct.error)
# Names that loaders (mmengine.load, json, the devkit) give the file.
FILE_LOCALS = ('file', 'filepath', 'filename', 'fname', 'path', 'ann_file')


def debug_requested(flag: bool = False) -> bool:
    """Whether tracebacks are wanted: ``--debug`` or ``NEXUSFLOW_DEBUG=1``."""
    return flag or os.environ.get(DEBUG_ENV, '') not in ('', '0')


def file_being_read(err: BaseException) -> Optional[str]:
    """The file a decoding error came from: the innermost frame of its
    traceback whose ``file`` / ``path`` / ... local names an existing file.

    Args:
        err (BaseException): a raised exception.

    Returns:
        str, optional: the path; None if it is not a decoding error or no
        frame names a file.
    """
    if not isinstance(err, DECODE_ERRORS):
        return None
    frames = [frame for frame, _ in traceback.walk_tb(err.__traceback__)]
    for frame in reversed(frames):
        for name in FILE_LOCALS:
            value = frame.f_locals.get(name)
            if isinstance(value, (str, os.PathLike)) and osp.isfile(value):
                return os.fspath(value)
    return None


def describe(err: BaseException) -> str:
    """The error's message on one line (a KeyError's without quotes); a
    bare ``assert`` is named by its type and where it failed; a file that
    cannot be decoded is named with what was expected of it."""
    message = err.args[0] if isinstance(err, KeyError) and err.args and \
        isinstance(err.args[0], str) else str(err)
    message = ' '.join(message.split())
    path = file_being_read(err)
    if path and path not in message:
        kind = osp.splitext(path)[1] or 'data'
        message = (f'{path} cannot be read ({message or type(err).__name__})'
                   f': expected a complete {kind} file; it is truncated or '
                   f'in another format, write it again')
    if not message:
        frames = traceback.extract_tb(err.__traceback__)
        where = f' at {frames[-1].filename}:{frames[-1].lineno}' \
            if frames else ''
        message = f'{type(err).__name__}{where}'
    return message if message.startswith('error:') else f'error: {message}'


@contextlib.contextmanager
def one_line_errors(debug: bool = False) -> Iterator[None]:
    """Turns a user error raised inside the block into one stderr line and
    exit status 1. Only rank 0 (or a process without ``RANK``) prints; the
    other ranks exit quietly. With ``debug`` the exception propagates.

    Args:
        debug (bool): keep the traceback (``--debug``).
    """
    try:
        yield
    except Exception as err:
        if debug_requested(debug) or not (isinstance(err, USER_ERRORS) or
                                          file_being_read(err)):
            raise
        if os.environ.get('RANK', '0') == '0':
            print(f'{describe(err)} (--debug or {DEBUG_ENV}=1 shows the '
                  f'traceback)', file=sys.stderr, flush=True)
        raise SystemExit(1) from None
