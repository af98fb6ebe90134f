"""The surrogate inputs h' and latents z of a trained model, per task.

The surrogates of a NexusFlow model live in one ``SurrogateBank``, the
attribute ``bank`` of its owner: ``NexusFlowNeck.bank`` (UniAD's
``model.neck``, the dense models' ``model.neck``) or
``NexusFlowWrapper.bank``. :class:`LatentRecorder` records, by forward
hooks on the bank's surrogates, the aggregator output h' (``h_<task>``,
(N, D)) and the surrogate output z (``z_<task>``, (N, D)); :func:`collect`
gathers them over a dataloader, plus ``domain`` (N,) from the samples'
``location`` metainfo when every sample has one.

The predict path of a NexusFlow model skips the surrogates (they are
removed for inference), so each batch goes through the loss path instead
(``model(..., mode='loss')`` under ``torch.no_grad`` with the model in eval
mode, so normalization statistics and weights are not changed). The split
must therefore carry what the loss needs (its ground truth). A model that
encodes a batch in task-mask groups (``NexusFlowWrapper``) may reorder the
rows; ``domain`` is then only kept for batches of one domain (one sample
per batch always works).

A model without surrogates (a plain baseline, no neck or ``neck=None``)
has no latents. The probe protocol (:func:`load_model` with a probe
config) gives it some: the ``model.neck`` of a NexusFlow config (a
``NexusFlowNeck``) is grafted onto the host, its surrogates are
initialised with a fixed seed, the trained host is loaded from its
checkpoint (every host weight must be there) and frozen in eval mode, and
only the surrogates are fitted for K Adam steps on the host's training
dataloader to the alignment loss alone (lambda = 1, no task loss). The
result measures how far a fixed-capacity surrogate can align the frozen
host's task features in K steps, which is not the same as NexusFlow's own
surrogates, trained jointly with the host.
"""
import copy
import itertools
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.runner import Runner, load_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn

from mmdet3d.registry import MODELS
from ..core import SurrogateBank
from ..utils.launch import load_config

# The host-config entry a NexusFlow config attaches its surrogates under.
NECK = 'neck'


def find_bank(model: nn.Module) -> SurrogateBank:
    """The one ``SurrogateBank`` among the submodules of ``model``.

    Args:
        model (nn.Module): the built model.

    Returns:
        SurrogateBank: the bank (``model.neck.bank`` of a NexusFlow host).
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


def graft_surrogates(model_cfg: dict, probe_cfg: dict) -> dict:
    """The host's model config with the probe config's ``neck``.

    Args:
        model_cfg (dict): the host's ``model`` config, without a neck (no
            ``neck`` key or ``neck=None``).
        probe_cfg (dict): the ``model`` config of a NexusFlow config, whose
            ``neck`` is a ``NexusFlowNeck`` (it has ``surrogates``).

    Returns:
        dict: a copy of ``model_cfg`` with ``neck`` taken from the probe.
    """
    neck = probe_cfg.get(NECK)
    if not isinstance(neck, dict) or 'surrogates' not in neck:
        raise ValueError('the probe config\'s model has no neck with '
                         'surrogates (model.neck=dict(type=\'NexusFlowNeck\''
                         ', surrogates=...))')
    if model_cfg.get(NECK) is not None:
        raise ValueError('the model already has a neck (its own '
                         'surrogates); collect without --probe-config')
    grafted = copy.deepcopy(model_cfg)
    grafted[NECK] = copy.deepcopy(neck)
    return grafted


def load_host(model: nn.Module, checkpoint: str) -> None:
    """Loads a host checkpoint without a neck into a grafted ``model``.

    Args:
        model (nn.Module): the host with the grafted ``neck``.
        checkpoint (str): the host's checkpoint; it must hold every weight
            but the neck's.
    """
    state = _load_checkpoint(checkpoint, map_location='cpu')
    state = state.get('state_dict', state)
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    prefix = f'{NECK}.'
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(prefix)]
    if missing or result.unexpected_keys:
        raise ValueError(
            f'{checkpoint}: does not fit the probed model: missing host '
            f'weights {missing[:5]}, unexpected {result.unexpected_keys[:5]}'
            f'; give the config the checkpoint was trained with')
    if any(k.startswith(prefix) for k in state):
        raise ValueError(f'{checkpoint}: already has neck weights '
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


def load_model(cfg,
               checkpoint: str,
               probe_config: Optional[str] = None,
               probe_steps: int = 100,
               probe_lr: float = 1e-3,
               seed: int = 0,
               device: Optional[torch.device] = None
               ) -> Tuple[nn.Module, List[float]]:
    """The model of ``cfg`` with ``checkpoint`` loaded, probed when asked.

    Args:
        cfg (Config): the run's config.
        checkpoint (str): the run's checkpoint.
        probe_config (str, optional): a NexusFlow config whose neck is
            grafted onto a host without surrogates and fitted first.
        probe_steps (int): alignment steps of the probe.
        probe_lr (float): Adam learning rate of the probe.
        seed (int): seed of the probe surrogates and data order.
        device (torch.device, optional): default: CUDA when available.

    Returns:
        tuple[nn.Module, list[float]]: the model and the probe losses
        (empty without probe).
    """
    device = device or torch.device(
        'cuda' if torch.cuda.is_available() else 'cpu')
    if not probe_config:
        model = MODELS.build(cfg.model).to(device)
        load_checkpoint(model, checkpoint, map_location='cpu')
        return model, []
    model_cfg = graft_surrogates(cfg.model, load_config(probe_config).model)
    print(f'probe: model.{NECK} from {probe_config}')
    if not cfg.get('train_dataloader'):
        raise ValueError(f'{cfg.filename} has no train_dataloader to fit '
                         f'the probe on')
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    load_host(model, checkpoint)
    model = model.to(device)
    train_loader = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
    losses = fit_probe(model, train_loader, probe_steps, probe_lr)
    print(f'probe: {len(losses)} steps, alignment loss {losses[0]:.4f} -> '
          f'{losses[-1]:.4f}')
    return model, losses


def collect_run(cfg,
                checkpoint: str,
                split: str = 'val',
                max_samples: Optional[int] = None,
                **probe) -> Dict[str, np.ndarray]:
    """The latents of a trained run over one split of its config.

    Args:
        cfg (Config): the run's config (default scope set).
        checkpoint (str): the run's checkpoint.
        split (str): ``'val'`` or ``'test'``: the dataloader to run.
        max_samples (int, optional): stop after this many samples.
        **probe: ``probe_config``, ``probe_steps``, ``probe_lr``, ``seed``
            and ``device`` of :func:`load_model`.

    Returns:
        dict[str, np.ndarray]: the arrays of :func:`collect`, plus the
        per-step ``probe_loss`` of a probed run.
    """
    model, losses = load_model(cfg, checkpoint, **probe)
    loader = Runner.build_dataloader(cfg[f'{split}_dataloader'])
    arrays = collect(model, loader, max_samples)
    if losses:
        arrays['probe_loss'] = np.array(losses)
    return arrays
