"""TrackQueryUpdate: UniAD's memory bank + query interaction, its official
parameter layout, and the computation written out from the official code's
semantics (``MemoryBank`` then ``QueryInteractionModule`` in training)."""
import json
import os.path as osp

import torch
import torch.nn.functional as F

from mmdet3d.registry import MODELS

DATA = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'data')


def build(embed_dims=256, num_heads=8, memory_len=4, **kwargs):
    torch.manual_seed(0)
    update = MODELS.build(dict(type='TrackQueryUpdate', embed_dims=embed_dims,
                               num_heads=num_heads, memory_len=memory_len,
                               **kwargs))
    update.init_weights()
    with torch.no_grad():  # no degenerate (zero) biases
        for param in update.parameters():
            param.add_(0.05 * torch.randn_like(param))
    return update.eval()


def test_parameters_are_the_official_ones():
    with open(osp.join(DATA, 'uniad_stage1_manifest.json')) as f:
        official = {k: v for k, v in json.load(f)['state_dict'].items()
                    if k.startswith(('query_interact.', 'memory_bank.'))}
    ours = {k: list(v.shape) for k, v in build().state_dict().items()}
    assert ours == official
    assert sum(v.numel() for v in build().parameters()) == 1121536


def attention(attn, query, key, value, pad=None):
    """``nn.MultiheadAttention`` (sequence-first) spelled out."""
    dims, heads = query.shape[-1], attn.num_heads
    wq, wk, wv = attn.in_proj_weight.chunk(3)
    bq, bk, bv = attn.in_proj_bias.chunk(3)
    q = (query @ wq.T + bq).view(query.shape[0], -1, heads, dims // heads)
    k = (key @ wk.T + bk).view(key.shape[0], -1, heads, dims // heads)
    v = (value @ wv.T + bv).view(value.shape[0], -1, heads, dims // heads)
    logits = torch.einsum('lnhd,snhd->nhls', q, k) / (dims // heads) ** 0.5
    if pad is not None:
        logits = logits.masked_fill(pad[:, None, None], float('-inf'))
    out = torch.einsum('nhls,snhd->lnhd', logits.softmax(-1), v)
    return attn.out_proj(out.reshape(query.shape[0], -1, dims))


def reference(update, query, hidden, memory, pad):
    """The official training step on carried tracks, written out."""
    bank, qim = update.memory_bank, update.query_interact
    embed = hidden.clone()
    valid = ~pad[:, -1]
    if valid.any():  # MemoryBank._forward_temporal_attn
        e = hidden[valid]
        mem = memory[valid].transpose(0, 1)
        e2 = attention(bank.temporal_attn, e[None], mem, mem, pad[valid])[0]
        e = bank.temporal_norm1(e + e2)
        e2 = bank.temporal_fc2(F.relu(bank.temporal_fc1(e)))
        embed[valid] = bank.temporal_norm2(e + e2)
    # MemoryBank.update (training: every track saves)
    new_memory = torch.cat([memory[:, 1:], bank.save_proj(embed)[:, None]],
                           1)
    new_pad = torch.cat([pad[:, 1:], torch.zeros_like(pad[:, :1])], 1)
    # QueryInteractionModule._update_track_embedding
    pos, feat = query[:, :256], query[:, 256:]
    q = (pos + embed)[:, None]
    tgt = qim.norm1(embed + attention(qim.self_attn, q, q,
                                      embed[:, None])[:, 0])
    tgt = qim.norm2(tgt + qim.linear2(F.relu(qim.linear1(tgt))))
    pos = qim.norm_pos(pos + qim.linear_pos2(F.relu(qim.linear_pos1(tgt))))
    feat = qim.norm_feat(feat +
                         qim.linear_feat2(F.relu(qim.linear_feat1(tgt))))
    return torch.cat([pos, feat], 1), new_memory, new_pad


def test_training_step_matches_the_official_semantics():
    update = build()
    gen = torch.Generator().manual_seed(1)
    num = 5
    query = torch.randn(num, 512, generator=gen)
    hidden = torch.randn(num, 256, generator=gen)
    memory = torch.randn(num, 4, 256, generator=gen)
    # New track (empty memory), tracks with 1..3 saved, one full.
    pad = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0],
                        [1, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    with torch.no_grad():
        got = update(query, hidden, memory, pad)
        want = reference(update, query, hidden, memory, pad)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    # The new track's memory read changes nothing; the others' does.
    assert got[1][0, -1].abs().sum() > 0 and not got[2][0, -1]
    assert got[2][:, -1].logical_not().all()


def test_inference_saves_every_fourth_frame_above_the_threshold():
    update = build(embed_dims=16, num_heads=2, memory_len=2)
    periods = torch.zeros(2, dtype=torch.long)
    saved = []
    for _ in range(9):
        save, periods = update.save_mask(torch.tensor([0.5, 0.0]), periods)
        saved.append(save.tolist())
    # Track 0 saves at frames 0, 4, 8; track 1 never (score not > 0).
    assert [s[0] for s in saved] == [True, False, False, False] * 2 + [True]
    assert not any(s[1] for s in saved)
    memory, pad = update.empty_memory(2)
    query, hidden = torch.randn(2, 32), torch.randn(2, 16)
    _, memory2, pad2 = update(query, hidden, memory, pad,
                              torch.tensor([True, False]))
    assert pad2.tolist() == [[True, False], [True, True]]
    assert torch.equal(memory2[1], memory[1])
