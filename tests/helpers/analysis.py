"""Helpers shared by the analysis tests: a README with sections, fake
latents files, reading a printed markdown table back, and running a
tool's ``main``."""
import sys
from types import ModuleType
from typing import Dict, List, Sequence

import numpy as np

# A README with two generated sections between hand-written text.
README = """# Title

text before
<!-- BEGIN results:uniad-tiny -->
(not produced yet)
<!-- END results:uniad-tiny -->

between
<!-- BEGIN results:other -->
keep me
<!-- END results:other -->
tail
"""


def write_latents(path, shift: float, num: int = 40, dim: int = 6,
                  seed: int = 0) -> str:
    """A latents file of tasks ``a`` and ``b`` (b shifted by ``shift``),
    ``h_a`` and alternating Boston / Singapore domains."""
    rng = np.random.default_rng(seed)
    np.savez(path,
             z_a=rng.standard_normal((num, dim)),
             z_b=rng.standard_normal((num, dim)) + shift,
             h_a=rng.standard_normal((num, dim)),
             domain=np.array(['boston', 'singapore'] * (num // 2)))
    return str(path)


def table_rows(text: str, title: str) -> Dict[str, List[str]]:
    """``{run: cells}`` of the markdown table right after ``title``."""
    lines = text[text.index(title):].splitlines()[1:]
    while lines and not lines[0].strip():
        lines.pop(0)
    rows = {}
    for line in lines[2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip('|').split('|')]
        rows[cells[0]] = cells[1:]
    return rows


def root_options(root: str) -> List[str]:
    """``--cfg-options`` pointing every dataloader at a dense data root."""
    return [f'{split}_dataloader.dataset.data_root={root}/'
            for split in ('train', 'val', 'test')]


def run_main(module: ModuleType, monkeypatch, argv: Sequence[str]):
    """Calls a tool's ``main()`` with ``argv`` as its command line."""
    monkeypatch.setattr(sys, 'argv', [module.__file__, *argv])
    return module.main()
