"""Reading the latents files written by ``tools/analysis/collect_latents.py``.

A latents file is an ``.npz`` archive with one (N, D) array per task named
``<prefix>_<task>`` (``z_`` for surrogate latents, ``h_`` for their inputs
h') and an optional (N,) string array ``domain``.
"""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np


def load_latents(path: str,
                 prefix: str = 'z') -> Tuple[Dict[str, np.ndarray],
                                             Optional[np.ndarray]]:
    """Loads the task arrays and the domains of one latents file.

    Args:
        path (str): the ``.npz`` file.
        prefix (str): array name prefix, ``'z'`` or ``'h'``. Defaults to
            ``'z'``.

    Returns:
        tuple[dict[str, np.ndarray], np.ndarray | None]: ``{task: (N, D)}``
        and the (N,) domains, or None when the file has none.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'latents file {path} does not exist')
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: not a readable .npz archive ({err})')
    with archive:
        latents = {
            name[len(prefix) + 1:]: archive[name]
            for name in archive.files if name.startswith(f'{prefix}_')
        }
        domains = archive['domain'] if 'domain' in archive.files else None
    if not latents:
        raise ValueError(f'{path}: expected arrays named {prefix}_<task>, '
                         f'found {sorted(archive.files)}')
    sizes = {task: z.shape for task, z in latents.items()}
    if any(len(s) != 2 for s in sizes.values()) or \
            len({s[0] for s in sizes.values()}) != 1:
        raise ValueError(f'{path}: every {prefix}_<task> array must be '
                         f'(N, D) with one N, got {sizes}')
    num = next(iter(sizes.values()))[0]
    if domains is not None and domains.shape != (num, ):
        raise ValueError(f'{path}: "domain" must have shape ({num},), got '
                         f'{domains.shape}')
    return latents, (None if domains is None else domains.astype(str))


def save_latents(path: str, arrays: Dict[str, np.ndarray]) -> str:
    """Writes a latents file, creating its folder.

    Args:
        path (str): the ``.npz`` file.
        arrays (dict[str, np.ndarray]): ``h_<task>``, ``z_<task>`` and
            optionally ``domain`` and ``probe_loss``.

    Returns:
        str: one line naming the file and the shape of every array.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    np.savez(path, **arrays)
    shapes = ', '.join(f'{k} {v.shape}' for k, v in arrays.items())
    return f'saved {path}: {shapes}'
