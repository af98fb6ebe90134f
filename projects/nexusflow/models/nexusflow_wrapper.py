"""Wraps any detector config with NexusFlow: taps, surrogates, alignment and
per-sample task masks, leaving the detector itself unchanged."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmdet3d.registry import MODELS
from .feature_taps import FeatureTaps
from .surrogate_bank import SurrogateBank
from .task_mask import (get_task_masks, group_by_task_mask, match_loss_keys,
                        zero_unlabeled_losses)


def _take(value, indices: List[int], batch_size: int, name: str):
    """Selects the samples ``indices`` of one preprocessed input."""
    if isinstance(value, Tensor):
        if value.dim() == 0 or value.shape[0] != batch_size:
            raise ValueError(f'NexusFlowWrapper cannot split {name} of shape '
                             f'{tuple(value.shape)} by sample: its first '
                             f'dimension is not the batch size {batch_size}')
        return value[torch.as_tensor(indices, device=value.device)]
    if isinstance(value, (list, tuple)):
        if len(value) != batch_size:
            raise ValueError(f'NexusFlowWrapper cannot split {name} (a '
                             f'{type(value).__name__} of {len(value)}) by '
                             f'sample: expected one entry per sample '
                             f'({batch_size})')
        return type(value)(value[i] for i in indices)
    if isinstance(value, dict):
        if isinstance(value.get('coors'), Tensor):
            return _take_voxels(value, indices, batch_size, name)
        return {
            key: _take(item, indices, batch_size, f'{name}[{key!r}]')
            for key, item in value.items()
        }
    return value


def _take_voxels(voxels: Dict[str, Tensor], indices: List[int],
                 batch_size: int, name: str) -> Dict[str, Tensor]:
    """Splits mmdet3d's voxel dict, whose ``coors[:, 0]`` is the sample."""
    coors = voxels['coors']
    remap = coors.new_full((batch_size, ), -1)
    remap[torch.as_tensor(indices, device=coors.device)] = torch.arange(
        len(indices), device=coors.device, dtype=coors.dtype)
    keep = remap[coors[:, 0].long()] >= 0
    taken = {}
    for key, item in voxels.items():
        if not isinstance(item, Tensor):
            taken[key] = item
        elif item.dim() > 0 and item.shape[0] == coors.shape[0]:
            taken[key] = item[keep]
        else:
            raise ValueError(f'NexusFlowWrapper cannot split {name}[{key!r}] '
                             f'of shape {tuple(item.shape)}: voxel entries '
                             f'must have one row per coors row '
                             f'({coors.shape[0]})')
    coors = taken['coors'].clone()
    coors[:, 0] = remap[coors[:, 0].long()]
    taken['coors'] = coors
    return taken


def _add_scaled(total: dict, losses: dict, weight: float) -> None:
    """``total[k] += weight * losses[k]`` for tensors and lists of them."""
    for key, value in losses.items():
        if isinstance(value, Tensor):
            scaled = value * weight
        elif isinstance(value, (list, tuple)):
            scaled = [v * weight for v in value]
        else:
            continue
        if key not in total:
            total[key] = scaled
        elif isinstance(scaled, list):
            total[key] = [a + b for a, b in zip(total[key], scaled)]
        else:
            total[key] = total[key] + scaled


@MODELS.register_module()
class NexusFlowWrapper(BaseModel):
    """Adds NexusFlow to an unchanged detector.

    Training: the batch is grouped by ``task_mask`` (the detector reduces
    its losses over the batch, so samples with different masks cannot share
    a call); the detector's ``loss`` runs per group, the losses of the
    group's unlabeled tasks are multiplied by 0.0, groups are combined
    weighted by size, and ``lambda * L_align`` over the tapped features of
    all samples and all tasks is added. Inference is the detector's own
    (no hooks are registered outside ``loss``).

    Grouping changes the batch statistics of BatchNorm layers in the
    detector when a batch mixes masks.

    Args:
        detector (dict): config of the detector (e.g. ``_base_.model``); its
            ``data_preprocessor`` is the wrapper's.
        taps (dict[str, str | dict]): ``{task: module path}`` relative to the
            detector, or ``{task: dict(module=path, index=i, key=k)}``; see
            :class:`FeatureTaps`.
        surrogates (dict[str, dict]): ``{task: TaskSurrogate config}``.
        alignment (dict): alignment loss config. Defaults to
            ``dict(type='CentroidAlignmentLoss')``.
        task_losses (dict[str, list[str]], optional): ``{task: [loss key
            prefix or regex, ...]}``: the detector's loss keys of each task.
            Required for samples with unlabeled tasks.
        align_weight (float): lambda. Defaults to 1.0.
        data_preprocessor (dict, optional): used only if the detector config
            has none (the runner may pass a top-level one).
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 detector: dict,
                 taps: Dict[str, Union[str, dict]],
                 surrogates: Dict[str, dict],
                 alignment: Optional[dict] = None,
                 task_losses: Optional[Dict[str, Sequence[str]]] = None,
                 align_weight: float = 1.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # The detector's preprocessor is served by the property below, so
        # the state dict holds only detector.* and surrogates.* keys.
        del self._modules['data_preprocessor']
        names = dict(taps=set(taps), surrogates=set(surrogates))
        if task_losses is not None:
            names['task_losses'] = set(task_losses)
        if len({frozenset(v) for v in names.values()}) != 1:
            listed = ', '.join(f'{k}={sorted(v)}' for k, v in names.items())
            raise ValueError(f'NexusFlowWrapper: task names must match '
                             f'between taps, surrogates and task_losses; '
                             f'got {listed}')
        detector = dict(detector)
        if data_preprocessor is not None:
            detector.setdefault('data_preprocessor', data_preprocessor)
        self.detector = MODELS.build(detector)
        self.surrogates = SurrogateBank(
            surrogates, alignment or dict(type='CentroidAlignmentLoss'),
            align_weight)
        self.taps = FeatureTaps(self.detector, taps, 'NexusFlowWrapper')
        self.task_losses = task_losses

    @property
    def data_preprocessor(self):
        """The detector's data preprocessor."""
        return self.detector.data_preprocessor

    @property
    def tasks(self) -> list:
        """Task names."""
        return self.surrogates.tasks

    @property
    def align_weight(self) -> float:
        """Lambda, the multiplier of the alignment loss (>= 0)."""
        return self.surrogates.align_weight

    @align_weight.setter
    def align_weight(self, value: float) -> None:
        self.surrogates.align_weight = value

    def forward(self,
                inputs: Union[dict, Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor',
                **kwargs):
        """Runs :meth:`loss` for ``mode='loss'``, else the detector.

        Args:
            inputs (dict | Tensor): preprocessed inputs.
            data_samples (list, optional): data samples of the batch.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.

        Returns:
            dict | list | tuple: losses, predictions or raw outputs.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.detector(inputs, data_samples, mode=mode, **kwargs)

    def predict(self, inputs: Union[dict, Tensor],
                data_samples: Optional[list] = None) -> list:
        """The detector's prediction; surrogates are not run.

        Args:
            inputs (dict | Tensor): preprocessed inputs.
            data_samples (list, optional): data samples of the batch.

        Returns:
            list: the detector's predictions.
        """
        return self.detector(inputs, data_samples, mode='predict')

    def _forward(self, inputs: Union[dict, Tensor],
                 data_samples: Optional[list] = None):
        """The detector's raw forward (``mode='tensor'``)."""
        return self.detector(inputs, data_samples, mode='tensor')

    def loss(self, inputs: Union[dict, Tensor],
             data_samples: list) -> Dict[str, Tensor]:
        """Task losses of the labeled tasks + lambda * alignment.

        Args:
            inputs (dict | Tensor): preprocessed inputs.
            data_samples (list): data samples; ``metainfo['task_mask']``
                says which tasks each sample is labeled for.

        Returns:
            dict[str, Tensor]: the detector's loss keys, ``loss_align`` and
            ``dist_<task>``.
        """
        batch_size = len(data_samples)
        groups = group_by_task_mask(get_task_masks(data_samples, self.tasks))
        total: Dict[str, Tensor] = {}
        latents: Dict[str, List[Tensor]] = {task: [] for task in self.tasks}
        for mask, indices in groups:
            if len(groups) == 1:
                group_inputs, group_samples = inputs, data_samples
            else:
                group_inputs = _take(inputs, indices, batch_size, 'inputs')
                group_samples = [data_samples[i] for i in indices]
            with self.taps:
                losses = self.detector.loss(group_inputs, group_samples)
            losses = self._mask_losses(losses, mask)
            feats = self.taps.collect(len(indices))
            for task, z in self.surrogates.encode(feats).items():
                latents[task].append(z)
            _add_scaled(total, losses, len(indices) / batch_size)
        clash = {'loss_align', *(f'dist_{t}' for t in self.tasks)} & set(total)
        if clash:
            raise ValueError(f'NexusFlowWrapper: the detector already '
                             f'returns the loss keys {sorted(clash)}')
        # Groups are concatenated in the same order for every task, so row k
        # of each task's latents belongs to the same sample.
        total.update(self.surrogates.align(
            {task: torch.cat(parts) for task, parts in latents.items()}))
        return total

    def _mask_losses(self, losses: dict, mask: Dict[str, bool]) -> dict:
        if self.task_losses is None:
            if not all(mask.values()):
                unlabeled = [t for t, labeled in mask.items() if not labeled]
                raise ValueError(f'NexusFlowWrapper: samples are unlabeled '
                                 f'for {unlabeled} but no task_losses tell '
                                 f'which detector losses to zero')
            return losses
        if all(mask.values()):
            match_loss_keys(list(losses), self.task_losses)  # validates
            return losses
        return zero_unlabeled_losses(losses, mask, self.task_losses)
