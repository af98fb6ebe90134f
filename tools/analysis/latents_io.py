"""Reading the latents files written by ``collect_latents.py``.

A latents file is an ``.npz`` archive with one (N, D) array per task named
``<prefix>_<task>`` (``z_`` for surrogate latents, ``h_`` for their inputs
h') and an optional (N,) string array ``domain``.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

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


def run_labels(paths: Sequence[str],
               labels: Optional[Sequence[str]]) -> List[str]:
    """Row labels of the runs: ``labels`` or the file names.

    Args:
        paths (Sequence[str]): one file (or folder) per run.
        labels (Sequence[str], optional): one label per path.

    Returns:
        list[str]: the labels.
    """
    if labels is None:
        return [osp.splitext(osp.basename(osp.normpath(p)))[0]
                for p in paths]
    if len(labels) != len(paths):
        raise ValueError(f'--labels: expected {len(paths)} labels (one per '
                         f'input), got {len(labels)}')
    return list(labels)


def markdown_table(header: Sequence[str],
                   rows: Sequence[Sequence[str]]) -> str:
    """Formats a markdown table.

    Args:
        header (Sequence[str]): the column names.
        rows (Sequence[Sequence[str]]): the cells, already formatted.

    Returns:
        str: the table, one line per row.
    """
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


def section_markers(name: str) -> Tuple[str, str]:
    """The begin and end markers of a generated README section.

    Args:
        name (str): the section name, e.g. ``'uniad-tiny'``.

    Returns:
        tuple[str, str]: ``<!-- BEGIN results:NAME -->`` and
        ``<!-- END results:NAME -->``.
    """
    return (f'<!-- BEGIN results:{name} -->', f'<!-- END results:{name} -->')


def replace_section(path: str, name: str, text: str) -> None:
    """Replaces what lies between a section's markers in a markdown file.

    Everything outside the markers, the markers included, stays byte for
    byte as it was.

    Args:
        path (str): the markdown file (e.g. ``README.md``).
        name (str): the section name of the markers.
        text (str): the new content (surrounding blank lines are dropped).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist (--readme)')
    with open(path, encoding='utf-8') as f:
        content = f.read()
    begin, end = section_markers(name)
    for marker in (begin, end):
        count = content.count(marker)
        if count != 1:
            raise ValueError(f'{path}: expected the marker "{marker}" once, '
                             f'found it {count} times; add the pair '
                             f'"{begin}" ... "{end}" where the section goes')
    start = content.index(begin) + len(begin)
    stop = content.index(end)
    if stop < start:
        raise ValueError(f'{path}: "{end}" comes before "{begin}"')
    content = content[:start] + '\n' + text.strip('\n') + '\n' + \
        content[stop:]
    with open(path, 'w', encoding='utf-8') as f:
        f.write(content)
