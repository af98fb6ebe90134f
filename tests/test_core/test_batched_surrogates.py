"""The batched surrogates give the per-task modules' latents, losses and
gradients; the per-task path stays where it must (hooks, autocast)."""
import pytest
import torch

from nexusflow.core import (BatchedRealNVP, RealNVPFlow, SurrogateBank,
                            pool_last_dim)

C = 6


def surrogate(pool='avg', dim=8, invertible=True, clamp=1.0, layers=4,
              kind='MLPAggregator'):
    if kind == 'MLPAggregator':
        aggregator = dict(type=kind, in_channels=C, out_dim=dim, pool=pool)
    else:
        aggregator = dict(type=kind, in_channels=C, out_dim=dim,
                          num_queries=2, num_heads=2, num_points=2)
    return dict(aggregator=aggregator, invertible=invertible,
                flow=dict(type='RealNVPFlow', num_layers=layers,
                          scale_clamp=clamp))


def make_bank(surrogates, dtype=torch.float32):
    torch.manual_seed(0)
    bank = SurrogateBank(surrogates, dict(type='CentroidAlignmentLoss'))
    with torch.no_grad():  # a trained state: no zero (identity) layers
        for param in bank.parameters():
            param.normal_(0.0, 0.2)
    return bank.to(dtype)


def make_feats(dtype=torch.float32):
    torch.manual_seed(1)
    feats = dict(
        a=torch.randn(3, C, 4, 5).relu(),  # ties at 0: dead positions
        b=torch.randn(3, C, 2, 7),  # another spatial size
        c=torch.randn(3, 5, C))  # a query set
    return {k: v.to(dtype).requires_grad_() for k, v in feats.items()}


def run(bank, feats, batched):
    """Latents, loss terms and every gradient of one path."""
    bank.batched = batched
    bank.zero_grad(set_to_none=True)
    leaves = {k: v[0] if isinstance(v, tuple) else v
              for k, v in feats.items()}
    for feat in leaves.values():
        feat.grad = None
    latents = bank.encode(feats)
    losses = bank.align(latents)
    # Weighted so that every latent entry gets its own gradient.
    extra = sum((z * torch.linspace(-1, 1, z.numel()).view_as(z).to(z)).sum()
                for z in latents.values())
    (losses['loss_align'] + extra).backward()
    grads = {n: p.grad.clone() for n, p in bank.named_parameters()}
    grads.update({f'feat {k}': v.grad.clone() for k, v in leaves.items()})
    return latents, losses, grads


def max_rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp(min=1e-30)).item()


@pytest.mark.parametrize('pool', ['avg', 'max', 'avgmax'])
@pytest.mark.parametrize('dim, clamp', [(8, 1.0), (7, 2.0)])
@pytest.mark.parametrize('invertible', [True, False])
def test_same_outputs_and_gradients_as_per_task(pool, dim, clamp,
                                                invertible):
    bank = make_bank({t: surrogate(pool, dim, invertible, clamp)
                      for t in 'abc'})
    feats = make_feats()
    ref_z, ref_loss, ref_grads = run(bank, feats, batched=False)
    z, loss, grads = run(bank, feats, batched=True)
    # Equal to float32 rounding: batched matmuls of tiny matrices sum in
    # another order than single ones (at the benchmarks' sizes the latents
    # come out bit-identical).
    for task in 'abc':
        assert max_rel(z[task], ref_z[task]) <= 1e-6
    for key in ref_loss:
        assert max_rel(loss[key], ref_loss[key]) <= 1e-6
    assert grads.keys() == ref_grads.keys()
    for name, ref in ref_grads.items():
        assert max_rel(grads[name], ref) <= 1e-5, name

    # In float64 the two paths agree to the last few bits.
    bank = bank.double()
    feats = make_feats(torch.float64)
    ref_z, _, ref_grads = run(bank, feats, batched=False)
    z, _, grads = run(bank, feats, batched=True)
    for task in 'abc':
        assert max_rel(z[task], ref_z[task]) <= 1e-12
    for name, ref in ref_grads.items():
        assert max_rel(grads[name], ref) <= 1e-12, name


def test_unbatchable_parts_run_per_task_and_join_the_batched_flows():
    bank = make_bank(dict(
        a=surrogate(),
        b=surrogate(kind='DeformableAggregator'),
        c=surrogate(),
        d=surrogate(dim=8, layers=2)))  # another flow depth: alone
    feats = make_feats()
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[:, 3:] = True
    feats['c'] = (feats['c'], mask)  # padded query set: per task
    feats['d'] = make_feats()['a']
    ref_z, _, ref_grads = run(bank, feats, batched=False)
    z, _, grads = run(bank, feats, batched=True)
    for task in 'abcd':
        assert max_rel(z[task], ref_z[task]) <= 1e-6
    for name, ref in ref_grads.items():
        assert max_rel(grads[name], ref) <= 1e-5, name


def graph_ops(latents):
    """Names of the autograd nodes behind the latents, leaves left out."""
    seen, todo = set(), [z.grad_fn for z in latents.values()]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo += [edge for edge, _ in node.next_functions]
    return [type(node).__name__ for node in seen
            if type(node).__name__ != 'AccumulateGrad']


def test_the_tasks_share_one_pooling_and_one_flow_node():
    bank = make_bank({t: surrogate() for t in 'abc'})
    batched = graph_ops(bank.encode(make_feats()))
    assert batched.count('_CouplingsBackward') == 1
    assert batched.count('_PoolLastDimBackward') == 1
    bank.batched = False
    per_task = graph_ops(bank.encode(make_feats()))
    assert len(batched) * 5 < len(per_task)


def test_state_dict_keys_are_the_per_task_modules():
    surrogates = {t: surrogate() for t in 'ab'}
    bank = make_bank(surrogates)
    keys = list(bank.state_dict())
    assert keys == list(SurrogateBank(surrogates, dict(
        type='CentroidAlignmentLoss'), batched=False).state_dict())
    assert 'surrogates.a.flow.layers.3.t.2.bias' in keys
    # A checkpoint of either path loads into the other, same latents.
    other = SurrogateBank(surrogates, dict(type='CentroidAlignmentLoss'),
                          batched=False)
    other.load_state_dict(bank.state_dict())
    feats = {k: v for k, v in make_feats().items() if k in 'ab'}
    with torch.no_grad():
        for task, z in bank.encode(feats).items():
            assert max_rel(z, other.encode(feats)[task]) <= 1e-6


def test_hooks_on_a_surrogate_select_the_per_task_path():
    bank = make_bank({t: surrogate() for t in 'ab'})
    feats = make_feats()
    seen = []
    handle = bank.surrogates['b'].aggregator.register_forward_hook(
        lambda module, args, out: seen.append(out))
    latents = bank.encode(dict(a=feats['a'], b=feats['b']))
    handle.remove()
    assert len(seen) == 1 and seen[0].shape == (3, 8)
    bank.encode(dict(a=feats['a'], b=feats['b']))
    assert len(seen) == 1  # removed: batched again, no call
    with torch.no_grad():
        assert torch.allclose(bank.surrogates['b'](feats['b']), latents['b'])


def test_autocast_takes_the_per_task_path():
    bank = make_bank({t: surrogate() for t in 'ab'})
    feats = make_feats()
    feats = dict(a=feats['a'], b=feats['b'])
    results = {}
    for batched in (False, True):
        bank.batched = batched
        with torch.autocast('cpu', dtype=torch.bfloat16):
            results[batched] = bank.encode(feats)
    for task in 'ab':
        assert torch.equal(results[True][task], results[False][task])


def test_errors_still_name_the_task():
    bank = make_bank({t: surrogate() for t in 'ab'})
    feats = make_feats()
    with pytest.raises(ValueError, match=r"surrogate 'b': MLPAggregator"
                       r"\(in_channels=6\) got a \(B, C, H, W\) input "
                       r'with C=5'):
        bank.encode(dict(a=feats['a'], b=torch.randn(3, 5, 2, 2)))


def test_batched_realnvp_matches_each_flow_and_checks_its_input():
    torch.manual_seed(0)
    flows = [RealNVPFlow(5, num_layers=3, scale_clamp=1.5).double()
             for _ in range(2)]
    for param in (p for flow in flows for p in flow.parameters()):
        torch.nn.init.normal_(param, 0.0, 0.5)
    x = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    z = BatchedRealNVP(flows)(x)
    for index, flow in enumerate(flows):
        assert torch.allclose(z[index], flow(x[index]), atol=1e-12)
    params = tuple(p for flow in flows for p in flow.parameters())

    def batched(x, *_):
        return BatchedRealNVP(flows)(x)

    assert torch.autograd.gradcheck(batched, (x, *params), fast_mode=True)
    with pytest.raises(ValueError, match=r'expects \(T, B, dim\) = '
                       r'\(2, B, 5\), got \(2, 4, 6\)'):
        BatchedRealNVP(flows)(torch.randn(2, 4, 6))
    with pytest.raises(ValueError, match='same dim, depth'):
        BatchedRealNVP([flows[0], RealNVPFlow(5, num_layers=2)])
    # Written-out backward: a second derivative is refused, not wrong.
    x = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    grad, = torch.autograd.grad(BatchedRealNVP(flows)(x).pow(2).sum(), x,
                                create_graph=True)
    with pytest.raises(RuntimeError, match='once_differentiable'):
        grad.sum().backward()


@pytest.mark.parametrize('pool', ['avg', 'max', 'avgmax'])
def test_pooling_several_features_is_exact(pool):
    feats = [torch.randn(2, 3, n, dtype=torch.float64, requires_grad=True)
             for n in (4, 7)]
    assert torch.autograd.gradcheck(lambda *f: pool_last_dim(f, pool),
                                    tuple(feats))
