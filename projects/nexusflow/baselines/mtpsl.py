"""Multi-task partially supervised learning (MTPSL, CVPR 2022): cross-task
consistency in a joint space learned by pair-conditioned mapping networks."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ..hosts.dense.segnet_mtan import conv_block
from ..utils.graph import graph_zero
from .targets import check_mask_tasks, target_validity


class PairMappingNet(nn.Module):
    """SegNet-like encoder shared by all task pairs, FiLM-conditioned on the
    ordered pair after every stage; one input conv block per task brings
    predictions and labels of that task to a common width.

    Args:
        tasks (dict[str, int]): ``{task: channels}``.
        channels (Sequence[int]): stage widths; each stage halves H and W.
        out_channels (int): width of the joint space.
        convs (int): conv blocks per stage. Defaults to 2.
    """

    def __init__(self, tasks: Dict[str, int], channels: Sequence[int],
                 out_channels: int, convs: int = 2) -> None:
        super().__init__()
        self.task_names = list(tasks)
        self.inputs = nn.ModuleDict({
            task: conv_block(num, channels[0])
            for task, num in tasks.items()
        })
        self.stages = nn.ModuleList()
        width = channels[0]
        for out in channels:
            self.stages.append(nn.Sequential(*[
                conv_block(width if i == 0 else out, out)
                for i in range(convs)
            ], nn.MaxPool2d(2, 2)))
            width = out
        self.widths = list(channels)
        num_pairs = len(self.task_names)**2
        # (1 + scale, shift) per stage; zero init starts as identity FiLM.
        self.film = nn.Embedding(num_pairs, 2 * sum(self.widths))
        nn.init.zeros_(self.film.weight)
        self.out = nn.Conv2d(width, out_channels, 1)

    def pair_index(self, source: str, target: str) -> int:
        """Row of the FiLM table of the ordered pair (source, target)."""
        num = len(self.task_names)
        return self.task_names.index(source) * num + self.task_names.index(
            target)

    def forward(self, x: Tensor, pairs: Tensor) -> Tensor:
        """Maps adapted inputs into the joint space.

        Args:
            x (Tensor): (R, channels[0], H, W), outputs of ``self.inputs``.
            pairs (Tensor): (R,) long pair indices.

        Returns:
            Tensor: (R, out_channels, H / 2^S, W / 2^S).
        """
        film = self.film(pairs)
        offset = 0
        for stage, width in zip(self.stages, self.widths):
            x = stage(x)
            scale = film[:, offset:offset + width, None, None]
            shift = film[:, offset + width:offset + 2 * width, None, None]
            x = (1 + scale) * x + shift
            offset += 2 * width
        return self.out(x)


def _cos_distance(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample mean over positions of ``1 - cos`` along channels."""
    return (1 - F.cosine_similarity(a, b, dim=1)).flatten(1).mean(dim=1)


@MODELS.register_module()
class MTPSLLoss(BaseModule):
    """Cross-task consistency for partially labeled dense MTL.

    For every ordered pair (s, t), s != t, and every sample labeled for t,
    the pair-conditioned mapping network maps the prediction of s and the
    label of t into a joint space; the loss is ``1 - cos`` between the two
    maps plus ``reg_weight`` times ``1 - cos`` of each map to the detached
    shared feature (which keeps the joint space from collapsing).
    Semantic predictions pass a hard Gumbel-softmax (straight-through),
    semantic labels are one-hot; pixels where t's label is invalid are
    zeroed on both sides. Pairs whose t is unlabeled contribute nothing.

    The shared feature is the mean of the per-task decoder features (MTAN
    gates one shared decoder per task), average-pooled to the joint-space
    resolution.

    Args:
        tasks (dict[str, int]): ``{task: output channels}``, filled in by
            the model.
        channels (Sequence[int]): mapping-network stage widths. Defaults to
            (64, 128, 256).
        feat_channels (int): width of the shared feature (the joint space).
            Defaults to 64, SegNetMTAN's output width.
        convs (int): conv blocks per stage. Defaults to 2.
        loss_weight (float): weight of the whole term. Defaults to 2.0.
        reg_weight (float): weight of the regularizer. Defaults to 0.5.
        tau (float): Gumbel-softmax temperature. Defaults to 1.0.
        mask_tasks (Sequence[str]): tasks whose targets are [0, 1] masks or
            heatmaps valid at every pixel (UniAD's ``track`` heatmap and
            ``map`` masks). Defaults to ().
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 tasks: Dict[str, int],
                 channels: Sequence[int] = (64, 128, 256),
                 feat_channels: int = 64,
                 convs: int = 2,
                 loss_weight: float = 2.0,
                 reg_weight: float = 0.5,
                 tau: float = 1.0,
                 mask_tasks: Sequence[str] = (),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(tasks) < 2:
            raise ValueError(f'MTPSLLoss: needs at least two tasks, got '
                             f'{list(tasks)}')
        self.tasks = dict(tasks)
        self.feat_channels = int(feat_channels)
        self.mapping = PairMappingNet(self.tasks, channels,
                                      self.feat_channels, convs)
        self.loss_weight = float(loss_weight)
        self.reg_weight = float(reg_weight)
        self.tau = float(tau)
        self.mask_tasks = check_mask_tasks('MTPSLLoss', mask_tasks,
                                           self.tasks)

    def _prediction_input(self, task: str, pred: Tensor) -> Tensor:
        if task == 'semantic':
            return F.gumbel_softmax(pred, tau=self.tau, hard=True, dim=1)
        return pred

    def _label_input(self, task: str, target: Tensor,
                     channels: int) -> Tensor:
        if task == 'semantic':
            onehot = F.one_hot(target.clamp(min=0), channels)
            return onehot.permute(0, 3, 1, 2).float()
        return target.float()

    def _shared(self, feats: Dict[str, Tensor], size) -> Tensor:
        shared = torch.stack([feats[t] for t in self.tasks]).mean(0)
        if shared.shape[1] != self.feat_channels:
            raise ValueError(f'MTPSLLoss: feat_channels={self.feat_channels}'
                             f' but the task features have '
                             f'{shared.shape[1]} channels')
        return F.adaptive_avg_pool2d(shared.detach(), size)

    def pair_terms(self, preds: Dict[str, Tensor],
                   targets: Dict[str, Tensor], labeled: Dict[str, Tensor],
                   feats: Dict[str, Tensor]
                   ) -> Dict[Tuple[str, str], Tuple[Tensor, Tensor]]:
        """Per-sample terms of every contributing pair.

        Args:
            preds (dict[str, Tensor]): head outputs (semantic logits).
            targets (dict[str, Tensor]): stacked targets.
            labeled (dict[str, Tensor]): ``{task: (B,) bool}``.
            feats (dict[str, Tensor]): task decoder features.

        Returns:
            dict: ``{(s, t): (cross (L,), reg (L,))}`` over the L samples
            labeled for t; pairs with no such sample are absent.
        """
        pred_inputs = {t: self._prediction_input(t, preds[t])
                       for t in self.tasks}
        rows: List[Tensor] = []
        pair_ids: List[int] = []
        keys, counts, index_of = [], [], {}
        for target_task in self.tasks:
            index = labeled[target_task].nonzero(as_tuple=True)[0]
            if index.numel() == 0:
                continue
            valid = target_validity(
                target_task, targets[target_task][index],
                target_task in self.mask_tasks).float()
            label = self._label_input(target_task,
                                      targets[target_task][index],
                                      self.tasks[target_task]) * valid
            for source in self.tasks:
                if source == target_task:
                    continue
                pair = self.mapping.pair_index(source, target_task)
                rows.append(self.mapping.inputs[source](
                    pred_inputs[source][index] * valid))
                rows.append(self.mapping.inputs[target_task](label))
                pair_ids += [pair] * (2 * index.numel())
                keys.append((source, target_task))
                counts.append(index.numel())
                index_of[(source, target_task)] = index
        if not rows:
            return {}
        device = rows[0].device
        mapped = self.mapping(torch.cat(rows),
                              torch.tensor(pair_ids, device=device))
        shared = self._shared(feats, mapped.shape[-2:])
        terms, offset = {}, 0
        for key, count in zip(keys, counts):
            from_pred = mapped[offset:offset + count]
            from_label = mapped[offset + count:offset + 2 * count]
            offset += 2 * count
            anchor = shared[index_of[key]]
            terms[key] = (_cos_distance(from_pred, from_label),
                          _cos_distance(from_pred, anchor) +
                          _cos_distance(from_label, anchor))
        return terms

    def forward(self, preds: Dict[str, Tensor], targets: Dict[str, Tensor],
                labeled: Dict[str, Tensor],
                feats: Optional[Dict[str, Tensor]] = None
                ) -> Dict[str, Tensor]:
        """Computes the MTPSL terms, averaged over (pair, sample) items.

        Args:
            preds (dict[str, Tensor]): head outputs (semantic logits).
            targets (dict[str, Tensor]): stacked targets (fillers where
                unlabeled).
            labeled (dict[str, Tensor]): ``{task: (B,) bool}``.
            feats (dict[str, Tensor]): task decoder features; required.

        Returns:
            dict[str, Tensor]: ``loss_mtpsl_cross`` and ``loss_mtpsl_reg``
            (already weighted); exact zeros that keep the mapping network
            in the graph when no sample is labeled.
        """
        if feats is None:
            raise ValueError('MTPSLLoss: feats (the task decoder features) '
                             'are required for the shared-feature '
                             'regularizer')
        terms = self.pair_terms(preds, targets, labeled, feats)
        # Ties every parameter into the graph with an exact zero (DDP).
        # Two zeros added, as before, so the value's bits do not change.
        zero = graph_zero(self) + graph_zero(*preds.values())
        if not terms:
            return dict(loss_mtpsl_cross=zero, loss_mtpsl_reg=zero.clone())
        cross = torch.cat([c for c, _ in terms.values()]).mean()
        reg = torch.cat([r for _, r in terms.values()]).mean()
        return dict(
            loss_mtpsl_cross=self.loss_weight * cross + zero,
            loss_mtpsl_reg=self.loss_weight * self.reg_weight * reg + zero)
