"""Dense multi-task model: STL, MTL on labeled tasks, NexusFlow, and the
partial-label baselines as regularizers."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ...attach.task_mask import get_task_masks
from ...datasets.dense.transforms import stack_targets
from .dense_losses import TASK_LOSSES, labeled_tensor

TASK_OUTPUTS = dict(depth=1, normal=3)


@MODELS.register_module()
class DenseMTLModel(BaseModel):
    """Backbone + per-task heads, trained on the labeled tasks only.

    ``separate=True`` builds one backbone per task (single-task learning,
    STL). ``neck`` adds NexusFlow: a ``NexusFlowNeck`` whose surrogates see
    the per-task decoder features; its alignment loss covers every task.
    ``regularizer`` adds a partial-label baseline (``JTRLoss``,
    ``MTPSLLoss``) that sees predictions, targets and label masks.
    ``refiner`` adds task-prediction distillation (``CTALModule``) between
    the decoder features and the heads; its initial predictions are
    supervised as ``loss_<task>_init`` on the labeled samples. A
    multi-scale refiner (``CTALMultiScale``, on a backbone whose
    ``out_channels`` lists per-scale widths) returns one initial prediction
    per scale k, supervised as ``loss_<task>_init_s<k>`` (k = 0 finest).

    Args:
        backbone (dict): config of a multi-task backbone such as
            ``SegNetMTAN``; ``tasks`` is filled in.
        tasks (dict[str, dict]): ``{task: dict(loss_weight=1.0,
            num_classes=...)}``; ``num_classes`` only for ``semantic``.
        separate (bool): one backbone per task (STL). Defaults to False.
        neck (dict, optional): ``NexusFlowNeck`` config (NexusFlow), one
            surrogate per task; removed by ``tools/deploy.py``.
        regularizer (dict, optional): config of a loss module called as
            ``regularizer(preds, targets, labeled, feats)``.
        refiner (dict, optional): config of a module called as
            ``refined_feats, initial_preds = refiner(feats)``; ``tasks``
            (output channels) and ``in_channels`` (the backbone's
            ``out_channels``) are filled in. A multi-scale refiner's
            ``out_channels`` (the width of its refined features) sets the
            heads' width.
        data_preprocessor (dict, optional): mmengine data preprocessor.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 tasks: Dict[str, dict],
                 separate: bool = False,
                 neck: Optional[dict] = None,
                 regularizer: Optional[dict] = None,
                 refiner: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        unknown = [t for t in tasks if t not in TASK_LOSSES]
        if unknown or not tasks:
            raise ValueError(f'DenseMTLModel: tasks must be a non-empty '
                             f'subset of {list(TASK_LOSSES)}, got '
                             f'{list(tasks)}')
        self.tasks = list(tasks)
        self.loss_weights = {t: float(tasks[t].get('loss_weight', 1.0))
                             for t in self.tasks}
        self.out_channels = {}
        for task in self.tasks:
            if task == 'semantic':
                if 'num_classes' not in tasks[task]:
                    raise ValueError('DenseMTLModel: tasks["semantic"] needs '
                                     'num_classes')
                self.out_channels[task] = int(tasks[task]['num_classes'])
            else:
                self.out_channels[task] = TASK_OUTPUTS[task]
        self.separate = separate
        if separate:
            self.backbones = nn.ModuleDict({
                task: MODELS.build(dict(backbone, tasks=[task]))
                for task in self.tasks
            })
            width = next(iter(self.backbones.values())).out_channels
        else:
            self.backbone = MODELS.build(dict(backbone, tasks=self.tasks))
            width = self.backbone.out_channels
        multi_scale = not isinstance(width, int)
        if multi_scale and (refiner is None or neck or regularizer):
            raise ValueError(f'DenseMTLModel: the backbone gives multi-scale '
                             f'features (out_channels={width}); they need a '
                             f'multi-scale refiner such as CTALMultiScale, '
                             f'and no neck or regularizer')
        self.refiner = None
        if multi_scale:
            # The multi-scale refiner fuses the scales into the heads'
            # input, so it comes first; a single-scale one is built last,
            # which keeps the initialisation of the other modules as it was.
            self.refiner = MODELS.build(
                dict(refiner, tasks=self.out_channels, in_channels=width))
            width = self.refiner.out_channels
        self.heads = nn.ModuleDict({
            task: nn.Sequential(
                nn.Conv2d(width, width, 3, padding=1),
                nn.ReLU(inplace=True), nn.Conv2d(width, channels, 1))
            for task, channels in self.out_channels.items()
        })
        self.neck = None
        if neck is not None:
            self.neck = MODELS.build(neck)
            self.neck.bank.check_tasks(self.tasks, 'model')
        self.regularizer = None
        if regularizer is not None:
            self.regularizer = MODELS.build(
                dict(regularizer, tasks=self.out_channels))
        if refiner is not None and not multi_scale:
            self.refiner = MODELS.build(
                dict(refiner, tasks=self.out_channels, in_channels=width))

    def extract_feats(self, inputs: Tensor) -> Dict[str, Tensor]:
        """Per-task decoder features ``{task: (B, C, H, W)}``, or per-task
        tuples of scales from a multi-scale backbone."""
        if self.separate:
            feats = {task: self.backbones[task](inputs)[task]
                     for task in self.tasks}
        else:
            feats = self.backbone(inputs)
        return feats if self.neck is None else self.neck(feats)

    def refine(self, feats: Dict[str, Tensor]
               ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Refined features and (unit-normal) initial predictions; the
        features unchanged and no initial predictions without refiner."""
        if self.refiner is None:
            return feats, {}
        feats, initial = self.refiner(feats)
        if 'normal' in initial:
            normal = initial['normal']
            initial['normal'] = [F.normalize(p, dim=1) for p in normal] \
                if isinstance(normal, (list, tuple)) else F.normalize(
                    normal, dim=1)
        return feats, initial

    def predict_tasks(self, feats: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Head outputs: semantic logits, depth, unit normals."""
        preds = {task: self.heads[task](feats[task]) for task in self.tasks}
        if 'normal' in preds:
            preds['normal'] = F.normalize(preds['normal'], dim=1)
        return preds

    @staticmethod
    def _stack(inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        return inputs if isinstance(inputs, Tensor) else torch.stack(
            list(inputs))

    def forward(self,
                inputs: Union[Tensor, Sequence[Tensor]],
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        """mmengine entry point.

        Args:
            inputs (Tensor | list[Tensor]): images (B, 3, H, W).
            data_samples (list[BaseDataElement], optional): targets and
                ``task_mask`` metainfo.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.

        Returns:
            dict | list | dict[str, Tensor]: losses, data samples with
            ``pred_<task>``, or raw predictions.
        """
        inputs = self._stack(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.predict_tasks(
                self.refine(self.extract_feats(inputs))[0])
        raise ValueError(f'DenseMTLModel: unknown mode {mode!r}')

    def loss(self, inputs: Tensor,
             data_samples: List[BaseDataElement]) -> Dict[str, Tensor]:
        """Task losses on labeled samples (+ alignment / regularizer).

        A task unlabeled in every sample of the batch gets an exact zero
        that keeps its parameters in the graph.

        Args:
            inputs (Tensor): (B, 3, H, W).
            data_samples (list[BaseDataElement]): see ``forward``.

        Returns:
            dict[str, Tensor]: ``loss_<task>`` and, when configured,
            ``loss_align`` / ``dist_<task>`` or the regularizer's terms.
        """
        feats = self.extract_feats(inputs)
        refined, initial = self.refine(feats)
        preds = self.predict_tasks(refined)
        masks = get_task_masks(data_samples, self.tasks)
        shape = inputs.shape[-2:]
        targets = {task: stack_targets(data_samples, task, shape,
                                       inputs.device)
                   for task in self.tasks}
        labeled = {task: labeled_tensor(masks, task, inputs.device)
                   for task in self.tasks}
        losses = {}
        for task in self.tasks:
            losses[f'loss_{task}'] = self.loss_weights[task] * TASK_LOSSES[
                task](preds[task], targets[task], labeled[task])
        for task, pred in initial.items():
            if isinstance(pred, (list, tuple)):
                named = {f'loss_{task}_init_s{k}': p
                         for k, p in enumerate(pred)}
            else:
                named = {f'loss_{task}_init': pred}
            for name, value in named.items():
                losses[name] = self.loss_weights[task] * TASK_LOSSES[task](
                    value, targets[task], labeled[task])
        if self.neck is not None:
            losses.update(self.neck.loss(feats))
        if self.regularizer is not None:
            losses.update(self.regularizer(preds, targets, labeled, feats))
        return losses

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        """Adds ``pred_semantic`` (H, W), ``pred_depth`` (1, H, W) and
        ``pred_normal`` (3, H, W) to each data sample."""
        preds = self.predict_tasks(self.refine(self.extract_feats(inputs))[0])
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(inputs))]
        for index, sample in enumerate(data_samples):
            for task, pred in preds.items():
                value = pred[index].argmax(dim=0) if task == 'semantic' \
                    else pred[index]
                sample.set_field(value.detach(), f'pred_{task}')
        return data_samples
