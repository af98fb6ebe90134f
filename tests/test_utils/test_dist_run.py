"""The distributed launcher's guard: GPUs visible but no CUDA torch."""
import os
import stat

import pytest
import torch

from nexusflow.utils import dist_run


def fake_smi(folder, gpus: int) -> None:
    script = folder / 'nvidia-smi'
    lines = ''.join(f'echo "GPU {i}: Fake GPU (UUID: GPU-{i})"\n'
                    for i in range(gpus))
    script.write_text('#!/bin/sh\n' + lines)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    monkeypatch.delenv(dist_run.ALLOW_CPU_ENV, raising=False)


def test_counts_gpus_from_nvidia_smi_or_the_environment(tmp_path,
                                                        monkeypatch):
    fake_smi(tmp_path, 2)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}/usr/bin:/bin')
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    assert dist_run.visible_gpus() == 2
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0,3,5')
    assert dist_run.visible_gpus() == 3
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    assert dist_run.visible_gpus() == 0
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '-1')
    assert dist_run.visible_gpus() == 0


def test_gpus_without_cuda_torch_stop_with_one_line(tmp_path, monkeypatch,
                                                    no_cuda):
    fake_smi(tmp_path, 8)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}/usr/bin:/bin')
    with pytest.raises(SystemExit) as exit_:
        dist_run.check_device('8')
    message = str(exit_.value.code)
    assert '\n' not in message and message.startswith('error: 8 GPU(s)')
    assert 'without CUDA' in message and 'PYTHON=' in message
    monkeypatch.setenv(dist_run.ALLOW_CPU_ENV, '1')
    assert 'gloo' in dist_run.check_device('8')


def test_cpu_machine_gets_a_note(tmp_path, monkeypatch, no_cuda):
    monkeypatch.setenv('PATH', str(tmp_path))  # no nvidia-smi
    assert dist_run.check_device('2').startswith(
        'note: no CUDA in ') and '2 CPU process(es)' in \
        dist_run.check_device('2')
