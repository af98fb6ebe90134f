"""The official UniAD reference cases (``../shared/reference/uniad_cases``,
CI data that a user's clone lacks): one place to find and load them."""
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REFERENCE = osp.join(osp.dirname(REPO), 'shared', 'reference')
CASES = osp.join(REFERENCE, 'uniad_cases')


def load_case(name: str) -> dict:
    """One case file, or a one-line skip when the shared data is absent.

    Args:
        name (str): file name, e.g. ``'seg_head.pt'``.

    Returns:
        dict: the case (``meta``, ``config``, ``inputs``, ``state_dict``,
        ``outputs``).
    """
    path = osp.join(CASES, name)
    if not osp.isfile(path):
        pytest.skip(f'official UniAD reference case {path} not found (shared '
                    f'CI data, absent in a user clone); parity skipped')
    # Shared reference data made by this project from the official code;
    # its img_metas hold numpy arrays, so the full unpickler is needed.
    return torch.load(path, weights_only=False)
