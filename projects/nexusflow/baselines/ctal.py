"""Cross-Task Affinity Learning (CTAL, WACV 2025): task-prediction
distillation with per-task affinity matrices fused by interleaved grouped
convolutions."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.backbones.resnet import BasicBlock
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from mmdet3d.registry import MODELS


def residual_blocks(channels: int, num_blocks: int) -> nn.Sequential:
    """``num_blocks`` ResNet basic blocks of constant width: the body of
    CTAL's initial-prediction heads (the paper uses two).

    Args:
        channels (int): input and output width.
        num_blocks (int): number of blocks; 0 gives an identity.

    Returns:
        nn.Sequential: the blocks.
    """
    return nn.Sequential(
        *[BasicBlock(channels, channels) for _ in range(num_blocks)])


def task_affinity(feat: Tensor) -> Tensor:
    """Intra-task affinity: cosine similarity of every pair of positions.

    Args:
        feat (Tensor): (B, C, H, W) task features.

    Returns:
        Tensor: (B, HW, HW), ``A[b, p, q] = cos(x_p, x_q)``.
    """
    flat = F.normalize(feat.flatten(2), dim=1)
    return flat.transpose(1, 2) @ flat


def interleave_affinities(affinities: Sequence[Tensor],
                          size: Tuple[int, int]) -> Tensor:
    """Joint affinity ``M``: each ``A_k`` reshaped to (HW, H, W) (channel q
    holds the similarities of every position with position q), channels
    interleaved across tasks so group q is ``[A_1[:, q], ..., A_N[:, q]]``.

    Args:
        affinities (Sequence[Tensor]): N tensors (B, HW, HW).
        size (tuple[int, int]): (H, W).

    Returns:
        Tensor: (B, N * HW, H, W).
    """
    # A[b, p, q] -> channel q at position p.
    stacked = torch.stack([a.transpose(1, 2) for a in affinities], dim=2)
    batch, hw, num = stacked.shape[:3]
    return stacked.reshape(batch, hw * num, *size)


@MODELS.register_module()
class CTALModule(BaseModule):
    """Cross-task affinity learning between initial and final predictions.

    For each task k, the initial-prediction decoder gives features
    ``F_k^i`` (two residual blocks on the task's decoder features, as in
    the paper) and a deep-supervised initial prediction (a 1x1 conv on
    ``F_k^i``). With ``with_initial=False`` the input features are used as
    ``F_k^i`` directly and no initial prediction is made; the multi-scale
    framework (:class:`CTALMultiScale`) makes its initial predictions per
    scale before fusing them. At the affinity resolution
    ``size = (H, W)``:

    1. intra-task: ``A_k = Gram(normalize(F_k^i))`` (HW x HW);
    2. inter-task: the ``A_k`` are reshaped to (HW, H, W) and interleaved
       into ``M`` (N * HW channels); a task-specific grouped convolution
       with HW groups of N channels (``f x f`` kernels) gives ``G_k``;
    3. diffusion: ``F_k^d = F_k^p G_k^T / HW`` with ``F_k^p`` a 1x1
       projection of ``F_k^i``; ``F_k^r = gamma F_k^d + (1 - gamma) F_k^i``.

    The 1 / HW keeps ``F^d`` on the scale of ``F^p`` whatever the
    resolution (the paper does not state a normalisation). Decoder features
    larger than ``size`` (SegNet decodes to full resolution) are resized to
    ``size`` for the affinity, and ``F^d`` is upsampled back before the
    blend, so the refined features keep full-resolution detail.

    Two implementations of steps 1-3 give the same output:
    ``efficient=False`` materialises every HW x HW matrix (reference);
    ``efficient=True`` processes the groups in chunks of ``chunk_size``
    columns q (group q only reads column q of each ``A_k`` and only writes
    row q of ``G_k^T``), with activation checkpointing under autograd, so
    memory is O(N HW chunk_size) instead of O(N HW^2).

    Args:
        tasks (dict[str, int]): ``{task: output channels}``, filled in by
            the model.
        in_channels (int): width C of the task decoder features, filled in
            by the model. Defaults to 64.
        size (Sequence[int]): affinity resolution (H, W); the grouped convs
            have H * W groups. Defaults to (72, 96), 1/4 of NYUv2's 288x384
            as in the paper.
        kernel_size (int): grouped conv filter size f. Defaults to 3.
        gamma (float): blending factor. Defaults to 0.05.
        efficient (bool): chunked diffusion. Defaults to True.
        chunk_size (int): columns per chunk. Defaults to 1024.
        with_initial (bool): own the initial-prediction decoders and heads.
            Defaults to True.
        initial_blocks (int): residual blocks per initial-prediction
            decoder. Defaults to 2.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 tasks: Dict[str, int],
                 in_channels: int = 64,
                 size: Sequence[int] = (72, 96),
                 kernel_size: int = 3,
                 gamma: float = 0.05,
                 efficient: bool = True,
                 chunk_size: int = 1024,
                 with_initial: bool = True,
                 initial_blocks: int = 2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(tasks) < 2:
            raise ValueError(f'CTALModule: needs at least two tasks, got '
                             f'{list(tasks)}')
        if not isinstance(in_channels, int):
            raise ValueError(f'CTALModule: in_channels must be one width '
                             f'(single-scale features), got {in_channels}; '
                             f'use CTALMultiScale for a multi-scale backbone')
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f'CTALModule: size must be (H, W), got {size}')
        if kernel_size % 2 != 1 or chunk_size < 1:
            raise ValueError(f'CTALModule: kernel_size must be odd and '
                             f'chunk_size positive, got {kernel_size}, '
                             f'{chunk_size}')
        if initial_blocks < 0:
            raise ValueError(f'CTALModule: initial_blocks must be >= 0, got '
                             f'{initial_blocks}')
        self.task_names = list(tasks)
        self.out_channels = int(in_channels)
        self.size = (int(size[0]), int(size[1]))
        self.gamma = float(gamma)
        self.efficient = efficient
        self.chunk_size = int(chunk_size)
        num_tasks = len(self.task_names)
        hw = self.size[0] * self.size[1]
        self.initial = self.initial_heads = None
        if with_initial:
            self.initial = nn.ModuleDict({
                task: residual_blocks(in_channels, initial_blocks)
                for task in self.task_names
            })
            self.initial_heads = nn.ModuleDict({
                task: nn.Conv2d(in_channels, channels, 1)
                for task, channels in tasks.items()
            })
        self.projections = nn.ModuleDict({
            task: nn.Conv2d(in_channels, in_channels, 1)
            for task in self.task_names
        })
        # One kernel of N x f x f per affinity column: HW groups.
        self.group_convs = nn.ModuleDict({
            task: nn.Conv2d(num_tasks * hw, hw, kernel_size,
                            padding=kernel_size // 2, groups=hw, bias=False)
            for task in self.task_names
        })

    def _resize(self, feat: Tensor) -> Tensor:
        if tuple(feat.shape[-2:]) == self.size:
            return feat
        return F.interpolate(feat, size=self.size, mode='bilinear',
                             align_corners=False)

    def diffuse_naive(self, feats: List[Tensor],
                      projs: List[Tensor]) -> List[Tensor]:
        """Reference diffusion with explicit HW x HW matrices.

        Args:
            feats (list[Tensor]): N initial features (B, C, H, W) at
                ``size``.
            projs (list[Tensor]): N projections ``F^p`` (B, C, H, W).

        Returns:
            list[Tensor]: N diffused features ``F^d`` (B, C, H, W).
        """
        hw = self.size[0] * self.size[1]
        joint = interleave_affinities([task_affinity(f) for f in feats],
                                      self.size)
        out = []
        for task, proj in zip(self.task_names, projs):
            # Channel q at position p is G[p, q], i.e. G^T viewed (q, p).
            g_t = self.group_convs[task](joint).flatten(2)
            out.append((proj.flatten(2) @ g_t / hw).view_as(proj))
        return out

    def _chunk(self, start: int, stop: int, flats: Tensor,
               projs: Tensor) -> Tensor:
        """Contribution of columns ``start:stop`` to every task's ``F^d``.

        Args:
            start (int): first column q.
            stop (int): one past the last column.
            flats (Tensor): (N, B, C, HW) normalised features.
            projs (Tensor): (N, B, C, HW) projections.

        Returns:
            Tensor: (N, B, C, HW).
        """
        num, batch = flats.shape[:2]
        cols = stop - start
        # Columns q of every A_k, as maps over p: (B, cols, N, HW).
        columns = torch.stack([
            flats[k, :, :, start:stop].transpose(1, 2) @ flats[k]
            for k in range(num)
        ], dim=2)
        joint = columns.reshape(batch, cols * num, *self.size)
        out = []
        for k, task in enumerate(self.task_names):
            conv = self.group_convs[task]
            g_t = F.conv2d(joint, conv.weight[start:stop], None,
                           conv.stride, conv.padding, conv.dilation,
                           groups=cols).flatten(2)
            out.append(projs[k, :, :, start:stop] @ g_t)
        return torch.stack(out)

    def diffuse_efficient(self, feats: List[Tensor],
                          projs: List[Tensor]) -> List[Tensor]:
        """Chunked diffusion, same output as :meth:`diffuse_naive`.

        Args:
            feats (list[Tensor]): N initial features (B, C, H, W) at
                ``size``.
            projs (list[Tensor]): N projections ``F^p`` (B, C, H, W).

        Returns:
            list[Tensor]: N diffused features ``F^d`` (B, C, H, W).
        """
        hw = self.size[0] * self.size[1]
        flats = torch.stack([F.normalize(f.flatten(2), dim=1) for f in feats])
        proj_flat = torch.stack([p.flatten(2) for p in projs])
        total = None
        for start in range(0, hw, self.chunk_size):
            stop = min(start + self.chunk_size, hw)
            if torch.is_grad_enabled():
                # Recompute the chunk's affinities in backward instead of
                # storing them: that is where the memory goes.
                part = checkpoint(self._chunk, start, stop, flats, proj_flat,
                                  use_reentrant=False)
            else:
                part = self._chunk(start, stop, flats, proj_flat)
            total = part if total is None else total + part
        return [(d / hw).view_as(p) for d, p in zip(total, projs)]

    def distill(self, initial: Sequence[Tensor]) -> List[Tensor]:
        """Steps 1-3 and the blend on the initial-prediction features.

        Args:
            initial (Sequence[Tensor]): ``F^i`` per task, in task order,
                (B, C, H', W').

        Returns:
            list[Tensor]: refined features ``F^r`` (B, C, H', W').
        """
        small = [self._resize(f) for f in initial]
        projs = [self.projections[t](f)
                 for t, f in zip(self.task_names, small)]
        diffuse = self.diffuse_efficient if self.efficient else \
            self.diffuse_naive
        refined = []
        for feat, diffused in zip(initial, diffuse(small, projs)):
            if diffused.shape[-2:] != feat.shape[-2:]:
                diffused = F.interpolate(diffused, size=feat.shape[-2:],
                                         mode='bilinear',
                                         align_corners=False)
            refined.append(self.gamma * diffused + (1 - self.gamma) * feat)
        return refined

    def forward(self, feats: Dict[str, Tensor]
                ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Refines the task features.

        Args:
            feats (dict[str, Tensor]): task decoder features
                ``{task: (B, C, H', W')}``.

        Returns:
            tuple[dict, dict]: refined features ``F^r`` (B, C, H', W') and
            raw initial predictions (B, O_t, H', W') per task (empty with
            ``with_initial=False``).
        """
        missing = [t for t in self.task_names if t not in feats]
        if missing:
            raise ValueError(f'CTALModule: features of tasks {missing} '
                             f'missing, got {list(feats)}')
        if self.initial is None:
            initial = [feats[t] for t in self.task_names]
            initial_preds = {}
        else:
            initial = [self.initial[t](feats[t]) for t in self.task_names]
            initial_preds = {t: self.initial_heads[t](f)
                             for t, f in zip(self.task_names, initial)}
        refined = dict(zip(self.task_names, self.distill(initial)))
        return refined, initial_preds
