"""Reading the synthetic nuScenes set back through the devkit."""
from typing import List

VERSION = 'v1.0-mini'


def chain(nusc, table: str, first: str) -> List[dict]:
    """The records of a ``prev`` / ``next`` chain, from ``first`` on.

    Args:
        nusc (nuscenes.NuScenes): the loaded devkit.
        table (str): table of the chain (``sample``,
            ``sample_annotation``...).
        first (str): token of the first record.

    Returns:
        list[dict]: the records in chain order.
    """
    records, token = [], first
    while token:
        records.append(nusc.get(table, token))
        token = records[-1]['next']
    return records
