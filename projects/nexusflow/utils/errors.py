"""One ``error:`` line for mistakes in the user's config, data or
NexusFlow settings, instead of a deep traceback (once, not once per rank).
"""
import contextlib
import os
import sys
import traceback
from typing import Iterator

# What a wrong config, data file or argument raises: our own checks
# (ValueError, FileNotFoundError, ...), mmengine's registry (KeyError for an
# unknown type, TypeError for an unknown argument) and mmdet3d's asserts.
USER_ERRORS = (ValueError, TypeError, KeyError, FileNotFoundError,
               FileExistsError, NotADirectoryError, AssertionError)
DEBUG_ENV = 'NEXUSFLOW_DEBUG'


def debug_requested(flag: bool = False) -> bool:
    """Whether tracebacks are wanted: ``--debug`` or ``NEXUSFLOW_DEBUG=1``."""
    return flag or os.environ.get(DEBUG_ENV, '') not in ('', '0')


def describe(err: BaseException) -> str:
    """The error's message on one line (a KeyError's without quotes); a
    bare ``assert`` is named by its type and where it failed."""
    message = err.args[0] if isinstance(err, KeyError) and err.args and \
        isinstance(err.args[0], str) else str(err)
    message = ' '.join(message.split())
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
    except USER_ERRORS as err:
        if debug_requested(debug):
            raise
        if os.environ.get('RANK', '0') == '0':
            print(f'{describe(err)} (--debug or {DEBUG_ENV}=1 shows the '
                  f'traceback)', file=sys.stderr, flush=True)
        raise SystemExit(1) from None
