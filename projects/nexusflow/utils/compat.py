"""Small shims for known incompatibilities of the pinned stack."""
import os

import numpy as np


def patch_numpy_aliases() -> None:
    """Restores ``np.long`` for mmdet3d 1.4.0.

    mmdet3d 1.4.0's ``DataBaseSampler.sample_all`` (ObjectSample, used by the
    stock CenterPoint configs) still asks for ``np.long``, which numpy 1.24
    removed; numpy<1.24 cannot be pinned next to the rest of the stack.
    """
    # Not hasattr: numpy 1.26's module __getattr__ warns on every probe.
    if 'long' not in vars(np):
        np.long = np.int64


def allow_mmengine_checkpoints() -> None:
    """Lets mmengine 0.10.7 load its own checkpoints under torch>=2.6.

    torch 2.6 made ``torch.load(weights_only=True)`` the default, but mmengine
    checkpoints carry the message hub (``HistoryBuffer``, numpy arrays) and
    mmengine calls ``torch.load`` without the argument, so resuming and
    testing fail. torch's documented switch restores the old default for
    calls that do not pass ``weights_only``; a value the user set wins.
    """
    os.environ.setdefault('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
