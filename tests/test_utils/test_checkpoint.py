"""Loading the project's own mmengine checkpoints without weakening
``torch.load`` for the rest of the process."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from nexusflow.utils.checkpoint import (load_checkpoint_file,
                                        trusted_checkpoints)


def mmengine_checkpoint(path) -> str:
    """What a Runner saves besides tensors: the message hub's
    HistoryBuffers (numpy arrays) and numpy scalars in the meta."""
    hub = MessageHub.get_instance('test_checkpoint')
    for step in range(3):
        hub.update_scalar('train/loss', 1.0 / (step + 1))
    meta = dict(iter=3, seed=np.int64(7), lr=np.float32(0.1),
                dataset_meta=dict(classes=('car', 'truck')))
    torch.save(dict(meta=meta, message_hub=hub.state_dict(),
                    state_dict=dict(w=torch.arange(4.0)),
                    optimizer=dict(state={}, param_groups=[dict(lr=0.1)])),
               path)
    return str(path)


class Payload:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


class Lookup:
    """A ``getattr`` beyond the HistoryBuffer statistics the loader allows."""

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_import_leaves_torch_load_safe(tmp_path):
    # torch registers its own types (DTensor, ...) on import; what counts
    # is that no numpy / mmengine type is allow-listed for the process.
    code = ('import os, numpy, torch, nexusflow\n'
            'print(os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"))\n'
            'print(sorted({getattr(g, "__module__", "").split(".")[0]\n'
            '             for g in torch.serialization.get_safe_globals()}))\n'
            'print("long" in vars(numpy))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=300, check=True).stdout
    env, modules, long = out.split('\n')[:3]
    assert env == 'None' and long == 'False'
    assert 'numpy' not in modules and 'mmengine' not in modules, modules


def test_project_checkpoints_load_only_inside_the_scope(tmp_path):
    path = mmengine_checkpoint(tmp_path / 'iter_3.pth')
    before = set(torch.serialization.get_safe_globals())
    # torch's default refuses mmengine's types ...
    with pytest.raises(Exception, match='[Ww]eights only load failed'):
        torch.load(path)
    # ... the project's loads accept them, and only while they run.
    ckpt = load_checkpoint_file(path)
    assert ckpt['meta']['seed'] == 7
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == \
        pytest.approx(1 / 3)
    with trusted_checkpoints():
        assert torch.equal(torch.load(path)['state_dict']['w'],
                           torch.arange(4.0))
    assert set(torch.serialization.get_safe_globals()) == before
    with pytest.raises(Exception, match='[Ww]eights only load failed'):
        torch.load(path)


@pytest.mark.parametrize('payload', [Payload(), Lookup()])
def test_code_in_a_checkpoint_is_refused_even_inside_the_scope(
        tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=payload), path)
    with pytest.raises(ValueError, match=f'checkpoint {path} cannot be read'):
        load_checkpoint_file(str(path))


@pytest.mark.parametrize('content', [b'', b'not a checkpoint'])
def test_broken_file_is_named(tmp_path, content):
    path = tmp_path / 'broken.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f'checkpoint {path} cannot be read'):
        load_checkpoint_file(str(path))


def test_truncated_checkpoint_is_named(tmp_path):
    path = mmengine_checkpoint(tmp_path / 'full.pth')
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=f'checkpoint {cut} cannot be read'):
        load_checkpoint_file(str(cut))


def test_file_without_state_dict_is_named(tmp_path):
    path = tmp_path / 'list.pth'
    torch.save([1, 2], path)
    with pytest.raises(ValueError, match='has no state_dict'):
        load_checkpoint_file(str(path))
