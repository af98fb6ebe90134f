"""Collects the surrogate inputs h' and latents z of a trained model.

Builds the model of CONFIG, loads CKPT, runs the val (or test) dataloader
and stores, for every task of the model's ``SurrogateBank`` (found as any
submodule of that type: the dense models' ``surrogate_bank``, the neck's or
the wrapper's ``surrogates``), the aggregator output h' (``h_<task>``,
(N, D)) and the surrogate output z (``z_<task>``, (N, D)) in an ``.npz``,
plus ``domain`` (N,) from the samples' ``location`` metainfo when every
sample has one. The arrays are what ``mmd.py`` and ``pca_scree.py`` read.

The values are captured by forward hooks on the bank's surrogates. The
predict path of a NexusFlow model skips the surrogates (they are removed for
inference), so each batch goes through the loss path instead
(``model(..., mode='loss')`` under ``torch.no_grad`` with the model in eval
mode, so normalization statistics and weights are not changed). The val
split must therefore carry what the loss needs (its ground truth).

A model that encodes a batch in task-mask groups (``NexusFlowWrapper``)
may reorder the rows; ``domain`` is then only kept for batches of one
domain (one sample per batch always works).

A model without surrogates (a plain baseline) has no latents. The probe
protocol (``--probe-config NEXUSFLOW_CONFIG --probe-steps K``) gives it
some: the model entries of NEXUSFLOW_CONFIG that own surrogates (e.g.
``model.neck`` of a UniAD NexusFlow config, ``model.surrogates`` of a
dense one) are added to CONFIG's model where it has none, the surrogates
are initialised with ``--seed``, the trained host is loaded from CKPT
(every host weight must be there) and frozen in eval mode, and only the
surrogates are fitted for K Adam steps (``--probe-lr``) on CONFIG's
training dataloader to the alignment loss alone (lambda = 1, no task
loss). Then the latents are collected as for a NexusFlow model. The
result measures how far a fixed-capacity surrogate can align the frozen
host's task features in K steps, which is not the same as NexusFlow's own
surrogates, trained jointly with the host. The per-step probe losses are
saved as ``probe_loss``.

Example:
    python tools/analysis/collect_latents.py \
        configs/dense/nyuv2_segnet_nexusflow_onelabel.py \
        work_dirs/nyuv2_segnet_nexusflow_onelabel/epoch_200.pth \
        --out latents/nexusflow.npz --max-samples 300
    python tools/analysis/collect_latents.py \
        configs/nexusflow/uniad_baseline_domainsplit_tiny.py \
        work_dirs/baseline/iter_300.pth --out latents/baseline.npz \
        --probe-config configs/nexusflow/uniad_domainsplit_tiny.py \
        --probe-steps 100
"""
import argparse
import copy
import itertools
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import import_nexusflow  # noqa: E402

import_nexusflow()
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner, load_checkpoint  # noqa: E402
from mmengine.runner.checkpoint import _load_checkpoint  # noqa: E402
from torch import nn  # noqa: E402

from mmdet3d.registry import MODELS  # noqa: E402
from nexusflow.core import SurrogateBank  # noqa: E402
from nexusflow.utils.launch import check_data_roots, load_config

DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def find_bank(model: nn.Module) -> SurrogateBank:
    """The one ``SurrogateBank`` among the submodules of ``model``.

    Args:
        model (nn.Module): the built model.

    Returns:
        SurrogateBank: the bank.
    """
    banks = [m for m in model.modules() if isinstance(m, SurrogateBank)]
    if len(banks) != 1:
        raise ValueError(
            f'{type(model).__name__}: expected one SurrogateBank submodule '
            f'(surrogates of a NexusFlow model), found {len(banks)}; a '
            f'baseline needs surrogates with align_weight=0 to have latents')
    return banks[0]


class LatentRecorder:
    """Forward hooks recording h' and z of every surrogate of a bank.

    Args:
        bank (SurrogateBank): the bank whose surrogates are hooked.
    """

    def __init__(self, bank: SurrogateBank) -> None:
        self.records: Dict[str, List[torch.Tensor]] = {}
        self.handles = []
        for task, surrogate in bank.surrogates.items():
            self.handles.append(surrogate.aggregator.register_forward_hook(
                self._hook(f'h_{task}')))
            self.handles.append(
                surrogate.register_forward_hook(self._hook(f'z_{task}')))

    def _hook(self, name: str):
        def record(module, inputs, output):
            self.records.setdefault(name, []).append(
                output.detach().float().cpu())
        return record

    def pop(self) -> Tuple[Dict[str, torch.Tensor], int]:
        """Everything recorded since the last call, rows concatenated.

        Returns:
            tuple[dict[str, Tensor], int]: ``{h_<task>|z_<task>: (rows,
            D)}`` and the most calls any one output got (more than one
            when the model encodes a batch in groups).
        """
        out = {name: torch.cat(values) for name, values in
               self.records.items()}
        calls = max((len(v) for v in self.records.values()), default=0)
        self.records = {}
        return out, calls

    def remove(self) -> None:
        """Removes the hooks."""
        for handle in self.handles:
            handle.remove()


def sample_domain(sample) -> Optional[str]:
    """The ``location`` metainfo of a data sample, if any."""
    metainfo = getattr(sample, 'metainfo', None) or {}
    location = metainfo.get('location')
    return None if location is None else str(location)


def collect(model: nn.Module, dataloader, max_samples: Optional[int] = None
            ) -> Dict[str, np.ndarray]:
    """Runs the loss path over ``dataloader`` and gathers h', z, domain.

    Args:
        model (nn.Module): the model (with a SurrogateBank).
        dataloader (Iterable): yields mmengine data batches.
        max_samples (int, optional): stop after this many samples.

    Returns:
        dict[str, np.ndarray]: ``h_<task>``, ``z_<task>`` (N, D) and,
        when every sample has a location, ``domain`` (N,).
    """
    recorder = LatentRecorder(find_bank(model))
    arrays: Dict[str, List[torch.Tensor]] = {}
    domains: List[Optional[str]] = []
    seen = 0
    model.eval()
    try:
        with torch.no_grad():
            for batch in dataloader:
                data = model.data_preprocessor(batch, training=False)
                model(**data, mode='loss')
                rows, calls = recorder.pop()
                samples = data.get('data_samples') or []
                sizes = {name: len(v) for name, v in rows.items()}
                if not rows or len(set(sizes.values())) != 1:
                    raise ValueError(
                        f'the loss path ran the surrogates unevenly in one '
                        f'batch (rows per output {sizes}); expected every '
                        f'task once per sample')
                for name, value in rows.items():
                    arrays.setdefault(name, []).append(value)
                num = next(iter(sizes.values()))
                batch_domains = [sample_domain(s) for s in samples]
                if len(batch_domains) != num or (
                        calls > 1 and len(set(batch_domains)) > 1):
                    # Encoded in task-mask groups (NexusFlowWrapper), the
                    # rows need not follow the sample order; with one
                    # sample per batch they always do.
                    batch_domains = [None] * num
                domains += batch_domains
                seen += num
                if max_samples is not None and seen >= max_samples:
                    break
    finally:
        recorder.remove()
    if not arrays:
        raise ValueError('the dataloader yielded no batch')
    limit = seen if max_samples is None else min(seen, max_samples)
    out = {name: torch.cat(values)[:limit].numpy()
           for name, values in sorted(arrays.items())}
    if all(d is not None for d in domains[:limit]):
        out['domain'] = np.array(domains[:limit])
    elif any(d is not None for d in domains):
        print('warning: no "domain" saved: the model encoded batches of '
              'mixed domains in task-mask groups; use one sample per batch '
              '(--cfg-options val_dataloader.batch_size=1) to keep it')
    return out


def graft_surrogates(model_cfg: dict, probe_cfg: dict) -> Tuple[dict,
                                                                List[str]]:
    """The host's model config plus the probe's surrogate-owning entries.

    An entry of ``probe_cfg`` is taken when it is a dict with a
    ``surrogates`` key (a ``NexusFlowNeck`` or ``SurrogateBank`` config)
    and the host has none under that name.

    Args:
        model_cfg (dict): the host's ``model`` config.
        probe_cfg (dict): the ``model`` config of a NexusFlow config.

    Returns:
        tuple[dict, list[str]]: the new model config and the grafted keys.
    """
    owners = [key for key, value in probe_cfg.items()
              if isinstance(value, dict) and 'surrogates' in value]
    if not owners:
        raise ValueError('the probe config\'s model has no entry with '
                         'surrogates (e.g. model.neck=NexusFlowNeck or '
                         'model.surrogates=SurrogateBank)')
    taken = [key for key in owners if model_cfg.get(key) is None]
    if not taken:
        raise ValueError(f'the model already has {owners} (its own '
                         f'surrogates); collect without --probe-config')
    grafted = copy.deepcopy(model_cfg)
    for key in taken:
        grafted[key] = copy.deepcopy(probe_cfg[key])
    return grafted, taken


def load_host(model: nn.Module, checkpoint: str, bank: SurrogateBank
              ) -> None:
    """Loads a host checkpoint that has no surrogates into ``model``.

    Args:
        model (nn.Module): the host with grafted surrogates.
        checkpoint (str): the host's checkpoint.
        bank (SurrogateBank): the grafted bank, the only weights the
            checkpoint may lack.
    """
    state = _load_checkpoint(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    bank_keys = {name for name, module in model.named_modules()
                 if module is bank}
    prefix = next(iter(bank_keys)) + '.'
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(prefix)]
    if missing or result.unexpected_keys:
        raise ValueError(
            f'{checkpoint}: does not fit the probed model: missing host '
            f'weights {missing[:5]}, unexpected {result.unexpected_keys[:5]}'
            f'; give the config the checkpoint was trained with')
    if any(k.startswith(prefix) for k in state):
        raise ValueError(f'{checkpoint}: already has surrogate weights '
                         f'({prefix}...); collect without --probe-config')


def fit_probe(model: nn.Module, dataloader, steps: int, lr: float = 1e-3
              ) -> List[float]:
    """Fits only the surrogates of a frozen host to the alignment loss.

    The host stays in eval mode with gradients off (its weights and
    normalization statistics do not change); the bank is in train mode
    with lambda = 1, and the Adam steps minimise ``loss_align`` alone.

    Args:
        model (nn.Module): the host with its SurrogateBank.
        dataloader (Iterable): training batches; cycled if shorter than
            ``steps``.
        steps (int): optimizer steps.
        lr (float): Adam learning rate. Defaults to 1e-3.

    Returns:
        list[float]: the alignment loss of every step.
    """
    bank = find_bank(model)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    params = list(bank.parameters())
    for param in params:
        param.requires_grad_(True)
    bank.train()
    weight, bank.align_weight = bank.align_weight, 1.0
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    try:
        batches = itertools.cycle(dataloader)
        for _ in range(steps):
            data = model.data_preprocessor(next(batches), training=False)
            loss = model(**data, mode='loss')['loss_align']
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    finally:
        bank.align_weight = weight
        for param in params:
            param.requires_grad_(False)
        model.eval()
    return losses


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Collect surrogate inputs h\' and latents z per task')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output .npz file')
    parser.add_argument('--split', default='val', choices=['val', 'test'],
                        help='which dataloader of the config to run')
    parser.add_argument('--max-samples', type=int,
                        help='stop after this many samples')
    parser.add_argument(
        '--probe-config',
        help='for a model without surrogates: a NexusFlow config whose '
        'surrogates are attached to the frozen host and fitted first')
    parser.add_argument('--probe-steps', type=int, default=100,
                        help='alignment steps fitting the probe surrogates')
    parser.add_argument('--probe-lr', type=float, default=1e-3,
                        help='Adam learning rate of the probe')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the probe surrogates and data order')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args()
    if args.probe_steps < 1:
        parser.error('--probe-steps must be >= 1')
    return args


def build_model(cfg, args: argparse.Namespace) -> Tuple[nn.Module,
                                                         List[float]]:
    """The model with the checkpoint loaded, probed when asked.

    Args:
        cfg (Config): the run's config.
        args (argparse.Namespace): checkpoint and probe options.

    Returns:
        tuple[nn.Module, list[float]]: the model and the probe losses
        (empty without probe).
    """
    if not args.probe_config:
        model = MODELS.build(cfg.model).to(DEVICE)
        load_checkpoint(model, args.checkpoint, map_location='cpu')
        return model, []
    probe = load_config(args.probe_config)
    model_cfg, keys = graft_surrogates(cfg.model, probe.model)
    print(f'probe: model.{", model.".join(keys)} from {args.probe_config}')
    torch.manual_seed(args.seed)
    model = MODELS.build(model_cfg)
    load_host(model, args.checkpoint, find_bank(model))
    model = model.to(DEVICE)
    if not cfg.get('train_dataloader'):
        raise ValueError(f'{args.config} has no train_dataloader to fit the '
                         f'probe on')
    train_loader = Runner.build_dataloader(cfg.train_dataloader,
                                           seed=args.seed)
    losses = fit_probe(model, train_loader, args.probe_steps, args.probe_lr)
    print(f'probe: {len(losses)} steps, alignment loss {losses[0]:.4f} -> '
          f'{losses[-1]:.4f}')
    return model, losses


def main() -> None:
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        sys.exit(f'error: checkpoint {args.checkpoint} does not exist')
    cfg = load_config(args.config, args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    key = f'{args.split}_dataloader'
    if not cfg.get(key):
        sys.exit(f'error: {args.config} has no {key}')
    check_data_roots(cfg)
    try:
        model, probe_losses = build_model(cfg, args)
        dataloader = Runner.build_dataloader(cfg[key])
        arrays = collect(model, dataloader, args.max_samples)
    except ValueError as err:
        sys.exit(f'error: {err}')
    if probe_losses:
        arrays['probe_loss'] = np.array(probe_losses)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    np.savez(args.out, **arrays)
    shapes = ', '.join(f'{k} {v.shape}' for k, v in arrays.items())
    print(f'saved {args.out}: {shapes}')


if __name__ == '__main__':
    main()
