"""The surrogates of several tasks run together: one batched matmul per layer
over the tasks instead of one small matmul per task and layer.

The weights stay in each task's own modules, so state-dict keys,
checkpoints, ``tools/deploy.py`` and code that reads a task's surrogate are
unchanged. Each call stacks them to (T, ...) tensors (a copy of the small
weight matrices, differentiable: every task's parameters get their own
gradient) and runs ``torch.baddbmm`` on (T, B, ...) inputs. The results
equal the per-task modules' to float rounding (tested to 1e-6, gradients
too); a step of a small model then runs a few hundred fewer tiny ops, which
is most of the cost of the surrogates.

What is batched: flows of the same kind and shape (``RealNVPFlow`` of equal
dim, depth, hidden width and clamp; ``PlainMLP`` of equal sizes) and
``MLPAggregator``\\ s of equal sizes and pooling on maps or unpadded query
sets of one batch size. Anything else (``DeformableAggregator``, padded
query sets, other modules) runs per task, and its output joins the batched
flows.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from .feature_utils import check_feature
from .mlp_aggregator import MLPAggregator, pool_last_dim
from .realnvp_flow import RealNVPFlow, clamp_log_scale
from .task_surrogate import PlainMLP

Linears = Sequence[nn.Linear]


def batched_linear(x: Tensor, linears: Linears) -> Tensor:
    """Applies T linear layers of equal shape to (T, B, in) at once.

    Args:
        x (Tensor): (T, B, in), row t for ``linears[t]``.
        linears (Sequence[nn.Linear]): T layers with bias.

    Returns:
        Tensor: (T, B, out).
    """
    weight = torch.stack([linear.weight for linear in linears])
    bias = torch.stack([linear.bias for linear in linears])
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


def batched_mlp(x: Tensor, mlps: Sequence[nn.Sequential]) -> Tensor:
    """Applies T ``Linear -> ReLU -> Linear`` blocks of equal shape to
    (T, B, in) at once.

    Args:
        x (Tensor): (T, B, in).
        mlps (Sequence[nn.Sequential]): T blocks.

    Returns:
        Tensor: (T, B, out).
    """
    hidden = batched_linear(x, [mlp[0] for mlp in mlps]).relu_()
    return batched_linear(hidden, [mlp[2] for mlp in mlps])


def _coupling_layout(flows: Sequence[RealNVPFlow]) -> tuple:
    """How :class:`_Couplings` sees T flows of one :func:`flow_key`.

    Layers whose conditioning halves have the same size (all of them for
    an even dim; even and odd layers apart for an odd dim) form a group
    whose weights are stacked together.

    Returns:
        tuple: ``(T, split, layers, groups)``: per layer ``(swap, clamp,
        group, position in the group)``; per group its layer indices.
    """
    lead = flows[0]
    widths = [lead.dim - layer.split if layer.swap else layer.split
              for layer in lead.layers]
    groups: Dict[int, List[int]] = {}
    for index, width in enumerate(widths):
        groups.setdefault(width, []).append(index)
    groups = list(groups.values())
    place = {index: (group, pos) for group, members in enumerate(groups)
             for pos, index in enumerate(members)}
    layers = tuple((layer.swap, float(layer.scale_clamp), *place[index])
                   for index, layer in enumerate(lead.layers))
    return (len(flows), lead.layers[0].split, layers,
            tuple(tuple(members) for members in groups))


def _coupling_params(flows: Sequence[RealNVPFlow],
                     groups: Sequence[Sequence[int]]) -> List[Tensor]:
    """The flows' coupling weights in the order :class:`_Couplings` takes:
    per group, per layer, per task, ``s`` then ``t``, each net's first and
    second linear layer (weight, bias): 8 tensors per layer and task."""
    params = []
    for members in groups:
        for index in members:
            for flow in flows:
                layer = flow.layers[index]
                for net in (layer.s, layer.t):
                    # Sequential(Linear, ReLU, Linear), read by direct
                    # dict walks: attribute lookups cost more than the math.
                    for module in net._modules.values():
                        params += module._parameters.values()
    return params


class _Couplings(torch.autograd.Function):
    """The coupling layers of T flows on (T, B, dim), one autograd node.

    Per layer, the first linear layers of all tasks' ``s`` and ``t`` nets
    read the same half, so they are one (T, cond, 2 * hidden) product; the
    second layers one product over 2T rows (task t's ``s`` at row 2t, its
    ``t`` at 2t + 1); then the affine update of the other half. The ops and
    their order are the per-task modules' (the latents come out the same);
    the backward is written out with the autograd formulas of the same ops,
    since an autograd graph of these small ops costs more than the
    arithmetic. Each kind of weight is stacked once per group of layers
    (see :func:`_coupling_layout`). Not twice differentiable.
    """

    @staticmethod
    def forward(ctx, x: Tensor, layout: tuple, *params: Tensor) -> Tensor:
        num, split, layers, groups = layout
        batch, step = x.shape[1], 8 * num
        # Per group and kind (first / second layer, weight / bias):
        # (layers in the group, 2T, ...).
        kinds, start = [], 0
        for members in groups:
            block = params[start:start + step * len(members)]
            start += step * len(members)
            kinds.append([
                torch.stack(block[k::4]).unflatten(0, (len(members), 2 * num))
                for k in range(4)
            ])
        first, second = x[..., :split], x[..., split:]
        saved = []
        for swap, clamp, group, pos in layers:
            weight1, bias1, weight2, bias2 = (
                kind[pos] for kind in kinds[group])
            cond, active = (second, first) if swap else (first, second)
            width = weight1.shape[1]
            weight1 = weight1.view(num, 2 * width, -1)
            hidden = torch.baddbmm(bias1.view(num, 1, 2 * width), cond,
                                   weight1.transpose(1, 2)).relu_()
            hidden = hidden.view(num, batch, 2, width).transpose(1, 2)
            hidden = hidden.reshape(2 * num, batch, width)
            out = torch.baddbmm(bias2.unsqueeze(1), hidden,
                                weight2.transpose(1, 2))
            raw, shift = out.view(num, 2, batch, -1).unbind(1)
            log_s = clamp_log_scale(raw, clamp)
            scale = torch.exp(log_s)
            new = active * scale + shift
            saved += (cond, active, hidden, log_s, scale)
            first, second = (new, cond) if swap else (cond, new)
        ctx.layout = layout
        ctx.save_for_backward(*(kind[k] for kind in kinds for k in (0, 2)),
                              *saved)
        return torch.cat((first, second), dim=-1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: Tensor):
        num, split, layers, groups = ctx.layout
        saved = ctx.saved_tensors
        weights = saved[:2 * len(groups)]
        saved = saved[2 * len(groups):]
        batch = grad.shape[1]
        grads = [[torch.empty_like(weights[2 * g]),
                  weights[2 * g].new_empty(weights[2 * g].shape[:3]),
                  torch.empty_like(weights[2 * g + 1]),
                  weights[2 * g + 1].new_empty(weights[2 * g + 1].shape[:3])]
                 for g in range(len(groups))]
        grad_first, grad_second = grad[..., :split], grad[..., split:]
        for index in reversed(range(len(layers))):
            swap, clamp, group, pos = layers[index]
            cond, active, hidden, log_s, scale = saved[5 * index:5 * index + 5]
            weight1 = weights[2 * group][pos]
            weight2 = weights[2 * group + 1][pos]
            width = weight1.shape[1]
            weight1 = weight1.view(num, 2 * width, -1)
            grad_cond, grad_new = (grad_second, grad_first) if swap else \
                (grad_first, grad_second)
            # new = active * exp(log_s) + shift
            grad_active = grad_new * scale
            grad_log_s = grad_new * active * scale
            if clamp == 1.0:
                grad_raw = torch.ops.aten.tanh_backward(grad_log_s, log_s)
            else:
                grad_raw = torch.ops.aten.tanh_backward(
                    grad_log_s * clamp, log_s / clamp) / clamp
            grad_out = torch.stack((grad_raw, grad_new), dim=1).view(
                2 * num, batch, -1)
            grad_hidden = torch.ops.aten.threshold_backward(
                torch.bmm(grad_out, weight2), hidden, 0)
            grad_pre = grad_hidden.view(num, 2, batch, width).transpose(
                1, 2).reshape(num, batch, 2 * width)
            grad_cond = grad_cond + torch.bmm(grad_pre, weight1)
            out = grads[group]
            torch.bmm(grad_pre.transpose(1, 2), cond,
                      out=out[0][pos].view(num, 2 * width, -1))
            torch.sum(grad_pre, dim=1, out=out[1][pos].view(num, -1))
            torch.bmm(grad_out.transpose(1, 2), hidden, out=out[2][pos])
            torch.sum(grad_out, dim=1, out=out[3][pos])
            grad_first, grad_second = (grad_active, grad_cond) if swap else \
                (grad_cond, grad_active)
        # Back to one tensor per parameter, in the order of ``params``.
        params = []
        for out in grads:
            rows = [kind.flatten(0, 1).unbind(0) for kind in out]
            params += [row for four in zip(*rows) for row in four]
        return (torch.cat((grad_first, grad_second), dim=-1), None, *params)


class BatchedRealNVP:
    """T ``RealNVPFlow``\\ s of the same shape run as one.

    Args:
        flows (Sequence[RealNVPFlow]): the flows, task t's at index t. They
            keep their parameters; this object holds no state of its own.
    """

    def __init__(self, flows: Sequence[RealNVPFlow]) -> None:
        keys = {flow_key(flow) for flow in flows}
        if not flows or len(keys) != 1 or None in keys:
            raise ValueError(f'BatchedRealNVP needs RealNVPFlows of the same '
                             f'dim, depth, hidden width and scale clamp, got '
                             f'{[flow_key(flow) for flow in flows]}')
        self.flows = list(flows)

    def __call__(self, x: Tensor) -> Tensor:
        """Maps (T, B, dim) to the latents (T, B, dim), row t by flow t.

        Args:
            x (Tensor): (T, B, dim) inputs.

        Returns:
            Tensor: (T, B, dim) latents.
        """
        num, dim = len(self.flows), self.flows[0].dim
        if x.dim() != 3 or x.shape[0] != num or x.shape[2] != dim:
            raise ValueError(f'BatchedRealNVP of {num} flows (dim {dim}) '
                             f'expects (T, B, dim) = ({num}, B, {dim}), got '
                             f'{tuple(x.shape)}')
        return _couplings(x, self.flows)


def _couplings(x: Tensor, flows: Sequence[RealNVPFlow]) -> Tensor:
    """:class:`BatchedRealNVP` without the checks (done by the caller)."""
    layout = _coupling_layout(flows)
    return _Couplings.apply(x, layout, *_coupling_params(flows, layout[3]))


def flow_key(flow: nn.Module) -> Optional[tuple]:
    """What must match for flows to run batched; None: never batched.

    Args:
        flow (nn.Module): a surrogate's flow.

    Returns:
        tuple | None: the kind and sizes.
    """
    if type(flow) is RealNVPFlow:
        return ('realnvp', flow.dim, flow.num_layers, flow.hidden_dim,
                tuple((layer.swap, layer.scale_clamp)
                      for layer in flow.layers))
    if type(flow) is PlainMLP:
        return ('plain', flow.dim, flow.num_layers, flow.hidden_dim)
    return None


def _run_flows(x: Tensor, flows: Sequence[nn.Module]) -> Tensor:
    """Runs T flows of one :func:`flow_key` on (T, B, dim) at once."""
    if type(flows[0]) is RealNVPFlow:
        return _couplings(x, flows)
    for blocks in zip(*(flow.layers for flow in flows)):
        x = batched_mlp(x, blocks)
    return x


def _pool_input(aggregator: nn.Module, feat) -> Optional[Tensor]:
    """The (B, C, N) view an ``MLPAggregator`` pools, or None if this input
    takes the per-task path (padded query set, other aggregator)."""
    if type(aggregator) is not MLPAggregator:
        return None
    if isinstance(feat, (tuple, list)):
        if len(feat) != 2 or feat[1] is not None:
            return None
        feat = feat[0]
    kind = check_feature('MLPAggregator', feat, aggregator.in_channels)
    # The same views as MLPAggregator.forward pools.
    return feat.flatten(2) if kind == 'map' else feat.movedim(1, -1)


def _groups(keys: Dict[str, Optional[tuple]]) -> List[List[str]]:
    """Tasks with equal keys, in task order; a None key is a group alone."""
    groups: Dict[tuple, List[str]] = {}
    for task, key in keys.items():
        groups.setdefault((task, ) if key is None else key, []).append(task)
    return list(groups.values())


def _signature(x: Tensor) -> tuple:
    return (x.shape[0], x.dtype, x.device)


def encode_batched(surrogates: Dict[str, nn.Module],
                   feats: Dict[str, object]) -> Dict[str, Tensor]:
    """Every task's latent, with the batchable parts run together.

    Args:
        surrogates (dict[str, TaskSurrogate]): ``{task: surrogate}``.
        feats (dict): ``{task: feature}`` as ``SurrogateBank.encode`` takes
            it: a map, a query set or a ``(query_set, padding_mask)``.

    Returns:
        dict[str, Tensor]: ``{task: (B, D)}``, equal to each surrogate's
        own output to float rounding.
    """
    pooled: Dict[str, Tensor] = {}
    vectors: Dict[str, Tensor] = {}
    for task, surrogate in surrogates.items():
        try:
            view = _pool_input(surrogate.aggregator, feats[task])
            if view is None:
                feat = feats[task]
                args = tuple(feat) if isinstance(feat, (tuple, list)) \
                    else (feat, )
                vectors[task] = surrogate.aggregator(*args)
            else:
                pooled[task] = view
        except ValueError as err:
            raise ValueError(f'surrogate {task!r}: {err}') from None
    # Stacked rows that a flow group can take as they are.
    stacked: Dict[Tuple[str, ...], Tensor] = {}
    for group in _groups({
            task: (surrogates[task].aggregator.pool,
                   surrogates[task].aggregator.in_channels,
                   _mlp_shape(surrogates[task].aggregator.mlp),
                   _signature(view))
            for task, view in pooled.items()}):
        aggs = [surrogates[task].aggregator for task in group]
        rows = batched_mlp(pool_last_dim([pooled[t] for t in group],
                                         aggs[0].pool),
                           [agg.mlp for agg in aggs])
        stacked[tuple(group)] = rows
        vectors.update(zip(group, rows.unbind(0)))
    order = list(surrogates)
    keys = {}
    for task in order:
        key = flow_key(surrogates[task].flow)
        keys[task] = None if key is None else (key,
                                               _signature(vectors[task]))
    latents = {}
    for group in _groups(keys):
        flows = [surrogates[task].flow for task in group]
        if len(group) == 1:
            latents[group[0]] = flows[0](vectors[group[0]])
            continue
        rows = stacked.get(tuple(group))
        if rows is None:
            rows = torch.stack([vectors[task] for task in group])
        latents.update(zip(group, _run_flows(rows, flows).unbind(0)))
    return {task: latents[task] for task in order}


def _mlp_shape(mlp: nn.Sequential) -> tuple:
    return tuple(layer.weight.shape for layer in mlp
                 if isinstance(layer, nn.Linear))
