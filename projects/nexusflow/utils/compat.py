"""Small shims for known incompatibilities of the pinned stack."""
import numpy as np


def patch_numpy_aliases() -> None:
    """Restores ``np.long`` for mmdet3d 1.4.0.

    mmdet3d 1.4.0's ``DataBaseSampler.sample_all`` (ObjectSample, used by the
    stock CenterPoint configs) still asks for ``np.long``, which numpy 1.24
    removed; numpy<1.24 cannot be pinned next to the rest of the stack. The
    tools call this at start-up (``tools/_bootstrap.py``); ``import
    nexusflow`` does not, so a user's program keeps numpy as it is.
    """
    # Not hasattr: numpy 1.26's module __getattr__ warns on every probe.
    if 'long' not in vars(np):
        np.long = np.int64
