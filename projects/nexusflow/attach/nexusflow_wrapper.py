"""Wraps any detector config with NexusFlow: taps, surrogates, alignment and
per-sample task masks, leaving the detector itself unchanged."""
from typing import Dict, Optional, Sequence, Union

from mmengine.model import BaseModel
from torch import Tensor

from mmdet3d.registry import MODELS
from ..core.surrogate_bank import BankOwner, SurrogateBank
from .class_masks import ClassLossMask
from .feature_taps import FeatureTaps
from .grouped_loss import align_groups, check_task_names, grouped_task_losses


@MODELS.register_module()
class NexusFlowWrapper(BankOwner, BaseModel):
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
            For tasks with their own head.
        align_weight (float): lambda. Defaults to 1.0.
        task_classes (dict[str, list[str]], optional): ``{task: [class
            name, ...]}`` for tasks that are class groups inside one head
            (see :class:`ClassLossMask`). Every task is in ``task_losses``
            or ``task_classes`` when samples have unlabeled tasks.
        classes (list[str], optional): the dataset's class names in label
            order; required with ``task_classes``.
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
                 task_classes: Optional[Dict[str, Sequence[str]]] = None,
                 classes: Optional[Sequence[str]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # The detector's preprocessor is served by the property below, so
        # the state dict holds only detector.* and bank.* keys.
        del self._modules['data_preprocessor']
        check_task_names('NexusFlowWrapper', taps, surrogates, task_losses,
                         task_classes)
        if task_classes and not classes:
            raise ValueError('NexusFlowWrapper: task_classes needs classes '
                             '(the dataset\'s class names in label order, '
                             'e.g. classes=_base_.class_names)')
        detector = dict(detector)
        if data_preprocessor is not None:
            detector.setdefault('data_preprocessor', data_preprocessor)
        self.detector = MODELS.build(detector)
        try:
            self.bank = SurrogateBank(
                surrogates, alignment or dict(type='CentroidAlignmentLoss'),
                align_weight)
        except ValueError as err:
            raise ValueError(f'NexusFlowWrapper: {err}') from None
        self.taps = FeatureTaps(self.detector, taps, 'NexusFlowWrapper')
        self.task_losses = task_losses
        self.class_mask = ClassLossMask(
            self.detector, task_classes, classes,
            'NexusFlowWrapper') if task_classes else None

    @property
    def data_preprocessor(self):
        """The detector's data preprocessor."""
        return self.detector.data_preprocessor

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
        losses, group_feats = grouped_task_losses(
            self.detector.loss, inputs, data_samples, self.taps, self.tasks,
            self.task_losses, 'NexusFlowWrapper', self.class_mask)
        losses.update(align_groups(self.bank, group_feats))
        return losses
