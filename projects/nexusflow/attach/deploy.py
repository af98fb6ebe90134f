"""Removes NexusFlow from a trained model: the host's plain config and its
weights without surrogates.

Every way NexusFlow attaches is handled: ``NexusFlowHook`` and
``AlignWeightHook`` are dropped from ``custom_hooks`` (the hook's
``checkpoint['nexusflow']`` entry with them), ``NexusFlowWrapper`` is
replaced by its detector (``detector.`` unwrapped, ``bank.*`` dropped) and
every ``NexusFlowNeck`` — UniAD's and the dense models' — is set to None
in the host config with its weights dropped. Optimizer and scheduler
states are not kept.
"""
import copy
import os
import os.path as osp
from typing import Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmdet3d.registry import MODELS
from ..utils.checkpoint import load_checkpoint_file

HOOKS = ('NexusFlowHook', 'AlignWeightHook')
WRAPPER, NECK = 'NexusFlowWrapper', 'NexusFlowNeck'


def _is(cfg, *names: str) -> bool:
    """Whether a config dict builds one of the registered types ``names``."""
    if not isinstance(cfg, dict):
        return False
    kind = cfg.get('type')
    if isinstance(kind, type):
        kind = kind.__name__
    return isinstance(kind, str) and kind.split('.')[-1] in names


def _remove_necks(cfg, path: str, dropped: List[str]) -> None:
    """Sets every NexusFlowNeck config below ``cfg`` to None, in place, and
    records the state-dict prefix of each."""
    items = cfg.items() if isinstance(cfg, dict) else enumerate(cfg)
    for key, value in list(items):
        if _is(value, NECK):
            cfg[key] = None
            dropped.append(f'{path}{key}.')
        elif isinstance(value, (dict, list)):
            _remove_necks(value, f'{path}{key}.', dropped)


def plain_config(cfg: Config) -> Tuple[Config, str, List[str]]:
    """The host's config without NexusFlow.

    Args:
        cfg (Config): the training config.

    Returns:
        tuple[Config, str, list[str]]: the plain config, the state-dict
        prefix of the host in the trained model (``'detector.'`` for the
        wrapper, else ``''``) and the prefixes of dropped modules (relative
        to the host).
    """
    plain = copy.deepcopy(cfg)
    prefix = ''
    model = plain.model
    if _is(model, WRAPPER):
        detector = copy.deepcopy(model['detector'])
        if 'data_preprocessor' not in detector and \
                model.get('data_preprocessor') is not None:
            detector['data_preprocessor'] = model['data_preprocessor']
        plain.model = model = detector
        prefix = 'detector.'
    dropped: List[str] = []
    _remove_necks(model, '', dropped)
    if plain.get('custom_hooks'):
        plain.custom_hooks = [
            h for h in plain.custom_hooks if not _is(h, *HOOKS)
        ]
    return plain, prefix, dropped


def plain_state_dict(state_dict: Dict[str, torch.Tensor], prefix: str,
                     dropped: List[str]) -> Dict[str, torch.Tensor]:
    """The host's weights: ``prefix`` removed, other top-level entries
    (the wrapper's ``bank.*``) and ``dropped`` modules left out.

    Args:
        state_dict (dict): the trained model's state dict.
        prefix (str): the host's prefix, e.g. ``'detector.'``.
        dropped (list[str]): host-relative prefixes to leave out.

    Returns:
        dict: the host's state dict.
    """
    host = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue
        key = key[len(prefix):]
        if not any(key.startswith(p) for p in dropped):
            host[key] = value
    return host


def deploy(config: str, checkpoint: str, out_dir: str) -> dict:
    """Writes ``out_dir/<name>.py`` and ``out_dir/<name>.pth``.

    ``<name>`` is the config's file name. The weights are checked by a
    strict load into the model built from the written config. Existing
    files are never overwritten.

    Args:
        config (str): the training config.
        checkpoint (str): a checkpoint trained with that config.
        out_dir (str): output folder (created if needed).

    Returns:
        dict: ``config`` and ``checkpoint`` (written paths), ``model`` (the
        plain host, loaded), ``kept`` (its parameter count) and
        ``removed`` (NexusFlow values left out).

    Raises:
        FileNotFoundError, FileExistsError, ValueError: with a message that
        names the file and what was expected.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    name = osp.splitext(osp.basename(config))[0]
    out_cfg = osp.join(out_dir, f'{name}.py')
    out_ckpt = osp.join(out_dir, f'{name}.pth')
    for path in (out_cfg, out_ckpt):
        if osp.exists(path):
            raise FileExistsError(f'{path} already exists; deploy never '
                                  f'overwrites, choose another OUT folder')
    cfg = Config.fromfile(config)
    ckpt = load_checkpoint_file(checkpoint)
    plain, prefix, dropped = plain_config(cfg)
    weights = plain_state_dict(ckpt['state_dict'], prefix, dropped)

    init_default_scope(plain.get('default_scope', 'mmdet3d'))
    # Builders may edit the config in place; the dump must be the original.
    model = MODELS.build(copy.deepcopy(plain.model))
    result = model.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(
            f'checkpoint {checkpoint} does not fit the plain model of '
            f'{config}: missing keys {result.missing_keys[:10]}, unexpected '
            f'keys {result.unexpected_keys[:10]} (of '
            f'{len(result.missing_keys)} / {len(result.unexpected_keys)})')

    os.makedirs(out_dir, exist_ok=True)
    plain.dump(out_cfg)
    meta = dict(ckpt.get('meta') or {})
    meta['deployed_from'] = osp.abspath(checkpoint)
    torch.save(dict(meta=meta, state_dict=weights), out_ckpt)
    total = sum(v.numel() for v in ckpt['state_dict'].values())
    removed = total - sum(v.numel() for v in weights.values())
    extra = (ckpt.get('nexusflow') or {}).get('state_dict', {})
    removed += sum(v.numel() for v in extra.values())
    return dict(config=out_cfg, checkpoint=out_ckpt, model=model,
                kept=sum(p.numel() for p in model.parameters()),
                removed=removed)
