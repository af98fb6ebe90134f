"""One-line diagnosis of a broken OpenMMLab stack, before any deep
traceback."""
from importlib import import_module

SETUP_HINT = ('run `make test` (or `bash tools/setup_env.sh`) to create '
              '.venv/, then use .venv/bin/python')


class StackError(RuntimeError):
    """The installed torch / mmcv / mmdet3d do not fit together."""


def _version(module: str) -> str:
    try:
        return import_module(module).__version__
    except ImportError as err:
        raise StackError(f'nexusflow needs `{module}`, which this Python '
                         f'cannot import ({err}); {SETUP_HINT}') from None


def _major_minor(version: str) -> tuple:
    return tuple(int(p) for p in version.split('+')[0].split('.')[:2])


def check_stack() -> None:
    """Checks that torch, mmcv (with compiled ops), mmdet and mmdet3d fit.

    Raises:
        StackError: naming the package that is missing or mismatched and
            the command that fixes it.
    """
    _version('torch')
    mmcv_version = _version('mmcv')
    if not (2, 0) <= _major_minor(mmcv_version) < (2, 2):
        raise StackError(f'mmdet3d 1.4 needs mmcv>=2.0,<2.2 but mmcv '
                         f'{mmcv_version} is installed; {SETUP_HINT}')
    try:
        import_module('mmcv._ext')
    except ImportError as err:
        raise StackError(
            f'mmcv {mmcv_version} has no compiled ops usable with this torch '
            f'({err}); rebuild it with `MMCV_WITH_OPS=1 pip install '
            f'--no-build-isolation mmcv==2.1.0` or {SETUP_HINT}') from None
    for module, wanted in (('mmdet', (3, 3)), ('mmdet3d', (1, 4))):
        found = _version(module)
        if _major_minor(found) != wanted:
            raise StackError(f'nexusflow is pinned to {module} '
                             f'{".".join(map(str, wanted))}, found {found}; '
                             f'{SETUP_HINT}')
