"""Adding parameters to a running optimizer so that the parameter
schedulers that already exist drive them too."""
from typing import Dict, Iterable, List, Optional, Union

from mmengine.optim import OptimWrapper, OptimWrapperDict
from torch import nn


def _schedulers(param_schedulers) -> list:
    """Flattens the runner's ``param_schedulers`` (None, list or dict)."""
    if param_schedulers is None:
        return []
    if isinstance(param_schedulers, dict):
        raise ValueError('NexusFlowHook supports a single optimizer; the '
                         'runner has parameter schedulers for several '
                         f'({sorted(param_schedulers)})')
    return list(param_schedulers)


def add_param_group(optim_wrapper: OptimWrapper,
                    params: Iterable[nn.Parameter],
                    param_schedulers: Optional[Union[list, dict]] = None,
                    options: Optional[dict] = None) -> Dict:
    """Appends a parameter group and registers it with the schedulers.

    mmengine's schedulers keep one base value per group (``base_values``,
    from the group's ``initial_<param>``) and the last scheduled values; a
    group added after they were built would be skipped or break them. The
    new group gets ``initial_<param>`` from its own setting, its current
    value scaled like the first group's (current / initial), and every
    scheduler's per-group lists are extended.

    Args:
        optim_wrapper (OptimWrapper): the runner's optimizer wrapper.
        params (Iterable[nn.Parameter]): the new parameters.
        param_schedulers (list, optional): the runner's built schedulers.
        options (dict, optional): settings of the new group (e.g. ``lr``,
            ``weight_decay``); unset ones are the optimizer's defaults.

    Returns:
        dict: the new parameter group.
    """
    if isinstance(optim_wrapper, OptimWrapperDict):
        raise ValueError('NexusFlowHook supports a single optimizer, got an '
                         f'OptimWrapperDict with {list(optim_wrapper.keys())}')
    schedulers = _schedulers(param_schedulers)
    optimizer = optim_wrapper.optimizer
    options = dict(options or {})
    unknown = sorted(set(options) - set(optimizer.defaults))
    if unknown:
        raise ValueError(f'NexusFlowHook: param_group has options {unknown} '
                         f'that {type(optimizer).__name__} does not know; '
                         f'its options are {sorted(optimizer.defaults)}')
    params: List[nn.Parameter] = list(params)
    optimizer.add_param_group(dict(params=params, **options))
    group, ref = optimizer.param_groups[-1], optimizer.param_groups[0]

    for name in dict.fromkeys(s.param_name for s in schedulers):
        users = [s for s in schedulers if s.param_name == name]
        if name not in group and any(
                getattr(s, 'use_betas', False) for s in users):
            # Momentum schedulers drive Adam's beta1 through 'momentum'.
            group[name] = group['betas'][0]
        initial = f'initial_{name}'
        group[initial] = group[name]
        if ref.get(initial):
            group[name] = group[initial] * ref[name] / ref[initial]
        if 'betas' in group and any(
                getattr(s, 'use_betas', False) for s in users):
            group['betas'] = (group[name], group['betas'][1])
        for scheduler in users:
            scheduler.base_values.append(group[initial])
            if hasattr(scheduler, '_last_value'):
                scheduler._last_value.append(group[name])
    return group


def scheduled_params(param_schedulers) -> List[str]:
    """The optimizer settings the runner's schedulers drive (``lr``,
    ``momentum``, ...), in order of first appearance."""
    return list(dict.fromkeys(
        s.param_name for s in _schedulers(param_schedulers)))


def follow_host(group: Dict, ref: Dict, names: Iterable[str]) -> None:
    """Sets a group's scheduled values to its own initial ones times the
    host group's current / initial ratio (``lr_mult`` style).

    mmengine's schedulers compute each group's value from the group's own
    base value and the scheduler's bounds; bounds given as absolute values
    (the stock cyclic schedule's ``eta_min = lr * 10``) would hold a group
    with another base lr flat while the host's lr rises tenfold. Following
    the host's ratio gives every scheduler's shape, whatever its kind.

    Args:
        group (dict): the group to set (the surrogates').
        ref (dict): the host's group (the optimizer's first).
        names (Iterable[str]): the scheduled settings.
    """
    for name in names:
        initial = f'initial_{name}'
        if name not in ref or not ref.get(initial) or initial not in group:
            continue
        group[name] = group[initial] * ref[name] / ref[initial]
        if name == 'momentum' and 'betas' in group:
            group['betas'] = (group[name], group['betas'][1])
