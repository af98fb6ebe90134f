"""Imports a command-line tool of ``tools/`` as a module."""
import importlib.util
import os.path as osp
import sys
from types import ModuleType

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO, 'tools')


def load_tool(path: str) -> ModuleType:
    """Loads ``tools/<path>`` the way it runs as a script.

    Args:
        path (str): path below ``tools/``, e.g. ``'benchmarks/methods.py'``.

    Returns:
        ModuleType: the executed module (its ``main`` is not called).
    """
    # A tool finds its siblings (``_bootstrap``, ``_measure``) next to it.
    for folder in (TOOLS, osp.dirname(osp.join(TOOLS, path))):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    name = 'tool_' + path[:-3].replace('/', '_')
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
