"""Forward hooks that record task features from named submodules of an
unchanged model ("taps")."""
import difflib
from typing import Dict, List, Optional, Union

from torch import Tensor, nn

TapSpec = Union[str, dict]


def find_submodule(root: nn.Module, path: str, owner: str) -> nn.Module:
    """Returns ``root.get_submodule(path)`` with a helpful error.

    Args:
        root (nn.Module): the model to search.
        path (str): dotted module path, e.g. ``'pts_bbox_head.shared_conv'``.
        owner (str): who asks, for the message.

    Returns:
        nn.Module: the submodule.
    """
    names = [name for name, _ in root.named_modules() if name]
    if path in names:
        return root.get_submodule(path)
    close = difflib.get_close_matches(path, names, n=5, cutoff=0.5)
    if not close:
        # Fall back to siblings under the longest existing parent path.
        parent = path
        while parent and parent not in names:
            parent = parent.rpartition('.')[0]
        prefix = f'{parent}.' if parent else ''
        close = [n for n in names
                 if n.startswith(prefix) and '.' not in n[len(prefix):]][:5]
    raise ValueError(f'{owner}: {type(root).__name__} has no submodule '
                     f'{path!r}; close module names: {close}')


class FeatureTaps:
    """Records the output of named submodules while active.

    Use as a context manager: hooks exist only inside ``with taps:``, so
    inference (outside) is untouched. If a tapped module runs several times
    in one forward, the last output is kept.

    Args:
        root (nn.Module): the model whose submodules are tapped.
        taps (dict[str, str | dict]): ``{task: path}`` or ``{task:
            dict(module=path, index=int, key=str)}``; ``index`` picks an
            element of a list/tuple output (default 0), ``key`` an entry of a
            dict output (required for dicts).
        owner (str): who owns the taps, for error messages.
    """

    def __init__(self, root: nn.Module, taps: Dict[str, TapSpec],
                 owner: str = 'FeatureTaps') -> None:
        self.owner = owner
        self.specs = {}
        for task, spec in taps.items():
            spec = dict(module=spec) if isinstance(spec, str) else dict(spec)
            unknown = set(spec) - {'module', 'index', 'key'}
            if 'module' not in spec or unknown:
                raise ValueError(f'{owner}: taps[{task!r}] must be a module '
                                 f'path or dict(module=path, index=..., '
                                 f'key=...), got {spec!r}')
            spec['target'] = find_submodule(root, spec['module'], owner)
            self.specs[task] = spec
        self._handles: List = []
        self._outputs: Dict[str, object] = {}

    @property
    def tasks(self) -> list:
        """Tapped task names."""
        return list(self.specs)

    def __enter__(self) -> 'FeatureTaps':
        self._outputs = {}
        for task, spec in self.specs.items():
            self._handles.append(spec['target'].register_forward_hook(
                self._recorder(task)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _recorder(self, task: str):

        def hook(module, args, output):
            self._outputs[task] = output

        return hook

    def _select(self, task: str, output) -> Tensor:
        spec = self.specs[task]
        where = f'{self.owner}: tap {task!r} ({spec["module"]!r})'
        if isinstance(output, dict):
            if spec.get('key') not in output:
                raise ValueError(f'{where} returns a dict with keys '
                                 f'{list(output)}; set key= to one of them '
                                 f'(got {spec.get("key")!r})')
            output = output[spec['key']]
        elif isinstance(output, (list, tuple)):
            index = spec.get('index', 0) or 0
            if not -len(output) <= index < len(output):
                raise ValueError(f'{where} returns {len(output)} outputs; '
                                 f'index={index} is out of range')
            output = output[index]
        if not isinstance(output, Tensor):
            raise ValueError(f'{where} gave a {type(output).__name__}, '
                             f'expected a Tensor')
        return output

    def collect(self, batch_size: Optional[int] = None) -> Dict[str, Tensor]:
        """Returns the recorded features and clears them.

        Args:
            batch_size (int, optional): if given, every feature's first
                dimension must equal it.

        Returns:
            dict[str, Tensor]: ``{task: feature}``.
        """
        outputs, self._outputs = self._outputs, {}
        feats = {}
        for task, spec in self.specs.items():
            if task not in outputs:
                raise ValueError(f'{self.owner}: tap {task!r} on '
                                 f'{spec["module"]!r} did not run during '
                                 f'the forward pass')
            feat = self._select(task, outputs[task])
            if batch_size is not None and (feat.dim() == 0
                                           or feat.shape[0] != batch_size):
                raise ValueError(f'{self.owner}: tap {task!r} on '
                                 f'{spec["module"]!r} gave shape '
                                 f'{tuple(feat.shape)}, expected batch size '
                                 f'{batch_size} first')
            feats[task] = feat
        return feats
