"""Shared start-up of the tools: one clear line when the environment is
wrong."""
import sys


def import_nexusflow():
    """Imports nexusflow, turning a missing or mismatched stack into one line,
    and applies the pinned stack's shims that only the tools need.

    Returns:
        module: the imported ``nexusflow`` package.
    """
    try:
        import nexusflow
    except ImportError as err:
        sys.exit(f'error: cannot import {err.name or "nexusflow"} with '
                 f'{sys.executable}. Run `make test` (or `bash '
                 f'tools/setup_env.sh`) to create .venv/, then use '
                 f'.venv/bin/python.')
    except RuntimeError as err:  # StackError: versions that do not fit
        sys.exit(f'error: {err}')
    from nexusflow.utils.compat import (patch_empty_mono3d_labels,
                                        patch_numpy_aliases)
    patch_numpy_aliases()  # the stock configs' ObjectSample needs np.long
    patch_empty_mono3d_labels()  # mono-3D images without boxes
    return nexusflow
