"""The memory-bounded CPU path of the BEV encoder.

* ``deformable_sample`` off CUDA (blocks of queries, inputs-only saved)
  gives mmcv's ``multi_scale_deformable_attn_pytorch`` outputs and
  gradients, for one block and for many, under float32 and under bf16
  autocast; it keeps only its inputs for the backward pass and its peak
  memory is a fraction of mmcv's.
* ``BEVFormerEncoder(with_cp=True)`` gives the same BEV and gradients as
  without checkpointing, dropout included, and keeps fewer tensors alive.
"""
import math

import numpy as np
import pytest
import torch
from mmcv.ops.multi_scale_deform_attn import \
    multi_scale_deformable_attn_pytorch
from torch.profiler import ProfilerActivity, profile

from nexusflow.hosts.uniad import BEVFormerEncoder
from nexusflow.hosts.uniad.deformable_sampling import (
    ChunkedDeformableSampling, deformable_sample)

SHAPES = torch.tensor([[12, 20], [6, 10], [3, 5]])
START = torch.cat([SHAPES.new_zeros(1), SHAPES.prod(1).cumsum(0)[:-1]])


def sampling_inputs(bs=3, queries=57, heads=4, dims=8, points=4, seed=0):
    """Random value, locations (some outside [0, 1]) and weights."""
    gen = torch.Generator().manual_seed(seed)
    keys = int(SHAPES.prod(1).sum())
    levels = len(SHAPES)
    value = torch.randn(bs, keys, heads, dims, generator=gen)
    locations = torch.rand(bs, queries, heads, levels, points, 2,
                           generator=gen) * 1.2 - 0.1
    weights = torch.rand(bs, queries, heads, levels, points,
                         generator=gen).softmax(-1)
    return value, locations, weights


def run(fn, inputs, grad_out):
    """Output and input gradients of ``fn`` on fresh leaves."""
    leaves = [t.clone().requires_grad_() for t in inputs]
    out = fn(*leaves)
    out.backward(grad_out)
    return out.detach(), [t.grad for t in leaves]


def mmcv_path(value, locations, weights):
    return multi_scale_deformable_attn_pytorch(value, SHAPES, locations,
                                               weights)


@pytest.mark.parametrize('block_bytes', [1, 20_000, 2**30])
def test_blocks_give_mmcv_numbers(block_bytes):
    # 1 byte: one query per block; 20 kB: a few queries with a short last
    # block; 1 GiB: everything in one block.
    inputs = sampling_inputs()
    grad_out = torch.randn(3, 57, 32)
    ref, ref_grads = run(mmcv_path, inputs, grad_out)

    def chunked(value, locations, weights):
        return deformable_sample(value, SHAPES, START, locations, weights,
                                 64, block_bytes=block_bytes)

    got, grads = run(chunked, inputs, grad_out)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-5)
    for name, grad, want in zip(('value', 'locations', 'weights'), grads,
                                ref_grads):
        torch.testing.assert_close(grad, want, rtol=0, atol=1e-5,
                                   msg=f'gradient of {name}')
    assert ref.abs().max() > 0.1  # the case samples real values


def test_only_some_inputs_need_gradients():
    value, locations, weights = sampling_inputs(seed=1)
    grad_out = torch.randn(3, 57, 32)
    value.requires_grad_()
    out = deformable_sample(value, SHAPES, START, locations, weights, 64,
                            block_bytes=10_000)
    out.backward(grad_out)
    ref_value = value.detach().clone().requires_grad_()
    mmcv_path(ref_value, locations, weights).backward(grad_out)
    torch.testing.assert_close(value.grad, ref_value.grad, rtol=0, atol=1e-5)


def test_bf16_autocast_samples_in_float32():
    value, locations, weights = sampling_inputs(seed=2)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = deformable_sample(value.bfloat16(), SHAPES, START, locations,
                                weights, 64, block_bytes=10_000)
    assert out.dtype == torch.bfloat16
    ref = mmcv_path(value.bfloat16().float(), locations, weights)
    # Only the output's rounding to bf16 differs from float32 sampling.
    torch.testing.assert_close(out.float(), ref, rtol=1e-2, atol=1e-2)


def test_saves_only_its_inputs():
    value, locations, weights = [t.requires_grad_()
                                 for t in sampling_inputs(seed=3)]
    out = ChunkedDeformableSampling.apply(value, ((12, 20), (6, 10), (3, 5)),
                                          locations, weights, 10_000)
    saved = out.grad_fn.saved_tensors
    assert [tuple(t.shape) for t in saved] == [
        tuple(value.shape), tuple(locations.shape), tuple(weights.shape)]


def peak_bytes(fn) -> int:
    """Highest running total of the CPU allocations ``fn`` makes."""
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        fn()
    events = sorted((e for e in prof.profiler.kineto_results.events()
                     if e.name() == '[memory]'), key=lambda e: e.start_ns())
    running = peak = 0
    for event in events:
        running += event.nbytes()
        peak = max(peak, running)
    return peak


def test_peak_memory_is_bounded():
    # 2 x 8 heads x 8 dims x 3 levels x 8 points x 4 B = 12 kB of samples
    # per query: mmcv holds ~3 x 24 MB for 2,000 queries; blocks of 1 MB.
    inputs = sampling_inputs(bs=2, queries=2000, heads=8, dims=8, points=8)
    grad_out = torch.randn(2, 2000, 64)

    def step(fn):
        leaves = [t.clone().requires_grad_() for t in inputs]
        fn(*leaves).backward(grad_out)

    def chunked(value, locations, weights):
        return deformable_sample(value, SHAPES, START, locations, weights,
                                 64, block_bytes=2**20)

    full = peak_bytes(lambda: step(mmcv_path))
    bounded = peak_bytes(lambda: step(chunked))
    assert full > 60 * 2**20
    assert bounded < 0.25 * full, (bounded, full)


# ------------------------------------------------------------- with_cp
SMALL = dict(bev_size=(10, 12), embed_dims=32, num_layers=2, num_cams=3,
             num_levels=2, num_heads=4, num_anchors=4, tsa_points=4,
             sca_points=8, ffn_dims=64, dropout=0.1)
PC_RANGE = (-51.2, -51.2, -5.0, 51.2, 51.2, 3.0)


def rig() -> torch.Tensor:
    """(1, 3, 4, 4) lidar2img of three pinhole cameras around the ego."""
    mats = []
    for yaw in (0.0, 2 * math.pi / 3, 4 * math.pi / 3):
        lidar2cam = np.eye(4)
        lidar2cam[:3, :3] = [[math.sin(yaw), -math.cos(yaw), 0.0],
                             [0.0, 0.0, -1.0],
                             [math.cos(yaw), math.sin(yaw), 0.0]]
        intrinsics = np.eye(4)
        intrinsics[:3, :3] = [[30.0, 0.0, 40.0], [0.0, 30.0, 24.0],
                              [0.0, 0.0, 1.0]]
        mats.append(intrinsics @ lidar2cam)
    return torch.as_tensor(np.stack(mats)[None]).float()


def encoder_step(with_cp: bool):
    """BEV, gradients and the number of tensors saved for backward of one
    training-mode pass (dropout on, same seed)."""
    torch.manual_seed(0)
    encoder = BEVFormerEncoder(pc_range=PC_RANGE, with_cp=with_cp, **SMALL)
    encoder.init_weights()
    encoder.train()
    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(1, 3, 32, h, w, generator=gen).requires_grad_()
             for h, w in ((6, 10), (3, 5))]
    prev = torch.randn(1, 32, 10, 12, generator=gen)
    can_bus = np.zeros((1, 18))
    can_bus[0, :3] = [1.5, -0.7, 0.0]
    can_bus[0, 17] = 6.0
    saved = []

    def pack(tensor):
        saved.append(tensor.numel())
        return tensor

    torch.manual_seed(2)  # dropout masks
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        bev = encoder(feats, rig(), (48, 80), prev, can_bus)
    weights = torch.randn(bev.shape, generator=gen)
    (bev * weights).sum().backward()
    grads = {name: p.grad.clone() for name, p in encoder.named_parameters()
             if p.grad is not None}
    grads.update({f'feat{i}': f.grad for i, f in enumerate(feats)})
    return bev.detach(), grads, sum(saved)


def test_with_cp_gives_the_same_numbers_with_less_saved():
    bev, grads, saved = encoder_step(with_cp=False)
    bev_cp, grads_cp, saved_cp = encoder_step(with_cp=True)
    torch.testing.assert_close(bev_cp, bev, rtol=0, atol=1e-5)
    assert grads_cp.keys() == grads.keys() and len(grads) > 20
    for name, grad in grads.items():
        torch.testing.assert_close(grads_cp[name], grad, rtol=1e-5,
                                   atol=1e-5, msg=name)
    # Dropout is active, so equality means the masks were replayed.
    assert sum(g.abs().sum() for g in grads.values()) > 0
    assert saved_cp < 0.5 * saved, (saved_cp, saved)


def test_with_cp_is_off_outside_training():
    encoder = BEVFormerEncoder(pc_range=PC_RANGE, with_cp=True, **SMALL)
    encoder.init_weights()
    encoder.eval()
    feats = [torch.randn(1, 3, 32, h, w) for h, w in ((6, 10), (3, 5))]
    with torch.no_grad():
        out = encoder(feats, rig(), (48, 80))
    plain = BEVFormerEncoder(pc_range=PC_RANGE, **SMALL)
    plain.load_state_dict(encoder.state_dict())
    plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(out, plain(feats, rig(), (48, 80)),
                                   rtol=0, atol=0)
