"""Time and memory of one training step, shared by the benchmark scripts,
and the form of the ratios they return.

Time: wall time on CUDA; on CPU this process's CPU time, which other
processes on a shared machine disturb far less than wall time.
Memory: on CUDA the allocator peak; on CPU the highest running total of the
allocations the torch profiler records during the step. ``static=True``
adds what lives across steps (parameters, buffers, gradients, optimizer
state), like the "training memory" a GPU reports.

Every benchmark's ``main(argv)`` returns a dict of what it measured whose
``ratios`` list (entries made by :func:`ratio`) ``run_all.py`` reports.
"""
import contextlib
import os
import sys
import time
from typing import Optional

import torch


def ratio(name: str, value: float, goal: Optional[float] = None,
          section: Optional[str] = None) -> dict:
    """One measured ratio, as the benchmarks return it to ``run_all.py``.

    Args:
        name (str): what it compares, e.g. ``'peak memory ratio'``.
        value (float): the ratio.
        goal (float, optional): the most it may be (``value <= goal``);
            None when the benchmark states no goal.
        section (str, optional): the setting it was measured under.

    Returns:
        dict: ``name``, ``value``, ``goal``, ``section``.
    """
    return dict(name=name, value=float(value), goal=goal, section=section)


def clock(device: torch.device) -> float:
    """Seconds now: wall time on CUDA, process CPU time on CPU."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        return time.perf_counter()
    return time.process_time()


@contextlib.contextmanager
def quiet_stderr():
    """Silences C-level stderr (the CPU profiler's start/stop lines)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def static_bytes(model: torch.nn.Module, optim) -> int:
    """Bytes of parameters, buffers, gradients and optimizer state."""
    tensors = list(model.parameters()) + list(model.buffers())
    tensors += [p.grad for p in model.parameters() if p.grad is not None]
    for state in optim.optimizer.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v)]
    seen, total = set(), 0
    for tensor in tensors:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
    return total


def step_seconds(model, optim, data: dict, device: torch.device) -> float:
    """Seconds of one ``train_step``."""
    start = clock(device)
    model.train_step(data, optim)
    return clock(device) - start


def peak_step_memory(model, optim, data: dict, device: torch.device,
                     static: bool = False) -> int:
    """Peak bytes one ``train_step`` allocates above what already exists
    (other models, the batch), plus the model's static bytes when
    ``static``."""
    extra = static_bytes(model, optim) if static else 0
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        model.train_step(data, optim)
        torch.cuda.synchronize(device)
        return extra + torch.cuda.max_memory_allocated(device) - base
    from torch.profiler import ProfilerActivity, profile
    with quiet_stderr(), profile(activities=[ProfilerActivity.CPU],
                                 profile_memory=True) as prof:
        model.train_step(data, optim)
    events = [e for e in prof.profiler.kineto_results.events()
              if e.name() == '[memory]']
    running = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        running += event.nbytes()
        peak = max(peak, running)
    return extra + peak
