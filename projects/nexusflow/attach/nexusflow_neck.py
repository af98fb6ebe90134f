"""NexusFlow as a neck between a BEV encoder and the task decoders."""
from typing import Dict, Optional

from mmengine.model import BaseModule
from torch import Tensor

from mmdet3d.registry import MODELS
from ..core.surrogate_bank import BankOwner, Feature, SurrogateBank


@MODELS.register_module()
class NexusFlowNeck(BankOwner, BaseModule):
    """Passes the shared feature through untouched and owns the surrogates.

    The host calls ``feat = neck(feat)`` where a neck would sit (the object
    is returned as is, so the forward pass is unchanged) and, during
    training, ``losses.update(neck.loss(task_feats))`` with each task
    branch's intermediate feature. UniAD passes its BEV, the dense models
    their per-task features. ``tools/deploy.py`` removes the neck by
    setting it to None in the host config.

    Args:
        surrogates (dict[str, dict]): ``{task: TaskSurrogate config}``.
        alignment (dict): alignment loss config, e.g.
            ``dict(type='CentroidAlignmentLoss')``.
        align_weight (float): lambda. Defaults to 1.0.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 surrogates: Dict[str, dict],
                 alignment: dict,
                 align_weight: float = 1.0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        try:
            self.bank = SurrogateBank(surrogates, alignment, align_weight)
        except ValueError as err:
            raise ValueError(f'NexusFlowNeck: {err}') from None

    def forward(self, bev: Tensor) -> Tensor:
        """Returns ``bev`` itself (the same object).

        Args:
            bev (Tensor): the encoder's feature (any object).

        Returns:
            Tensor: ``bev`` itself.
        """
        return bev

    def loss(self,
             task_feats: Dict[str, Feature],
             weights: Optional[Dict[str, Tensor]] = None
             ) -> Dict[str, Tensor]:
        """Alignment losses of the task features.

        Args:
            task_feats (dict): ``{task: feature}``: (B, C, H, W), (B, Q, C)
                or ``(query_set, padding_mask)``, one per surrogate task.
            weights (dict[str, Tensor], optional): per-task confidences for
                a centroid loss.

        Returns:
            dict[str, Tensor]: ``loss_align`` (times lambda) and detached
            ``dist_<task>``.
        """
        return self.bank(task_feats, weights)
