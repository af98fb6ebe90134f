"""Joint-Task Regularization (JTR, CVPR 2024) for partially labeled dense
multi-task learning."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from ..hosts.dense.segnet_mtan import SegNetEncoder, conv_block
from .targets import check_mask_tasks, target_validity


class JTRDecoder(nn.Module):
    """Mirror of :class:`SegNetEncoder` with nearest 2x upsampling (the
    latent alone has no pooling indices).

    Args:
        channels (Sequence[int]): the encoder's stage widths.
        out_channels (int): reconstructed channels.
        convs (int): conv blocks per stage. Defaults to 2.
    """

    def __init__(self, channels: Sequence[int], out_channels: int,
                 convs: int = 2) -> None:
        super().__init__()
        widths = list(reversed(channels))
        outs = widths[1:] + [widths[-1]]
        self.stages = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode='nearest'), *[
                    conv_block(w if i == 0 else o, o) for i in range(convs)
                ]) for w, o in zip(widths, outs))
        self.out = nn.Conv2d(outs[-1], out_channels, 1)

    def forward(self, latent: Tensor) -> Tensor:
        """(B, C', H/2^S, W/2^S) -> (B, out_channels, H, W)."""
        for stage in self.stages:
            latent = stage(latent)
        return self.out(latent)


@MODELS.register_module()
class JTRLoss(BaseModule):
    """Encodes all task predictions and all targets into one joint-task
    latent space and pulls the two encodings together.

    The prediction stack ``Y_hat`` concatenates the semantic softmax, depth
    and normals; the target stack ``Y`` uses the label where a sample is
    labeled and the pixel valid, and the prediction elsewhere. With the
    auto-encoder ``g = g2 . g1``:

    ``c_dist * (1 - cos(g1(Y_hat), g1(Y)))
    + c_recon * (Recon(g(<Y_hat>), <Y_hat>) + Recon(g(<Y>), <Y>))``

    where ``<.>`` detaches and Recon applies each task's loss to its
    channels (soft cross-entropy, L1, 1 - cos).

    Args:
        tasks (dict[str, int]): ``{task: output channels}``, filled in by
            the model.
        channels (Sequence[int]): SegNet stage widths of the auto-encoder.
            Defaults to (64, 128, 256, 512, 512): a 512 x 9 x 12 latent at
            288 x 384.
        convs (int): conv blocks per stage. Defaults to 2.
        c_dist (float): weight of the latent distance. Defaults to 4.0.
        c_recon (float): weight of the reconstructions. Defaults to 2.0.
        mask_tasks (Sequence[str]): tasks whose targets are [0, 1] masks or
            heatmaps valid at every pixel (UniAD's ``track`` heatmap and
            ``map`` masks). Defaults to ().
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 tasks: Dict[str, int],
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 convs: int = 2,
                 c_dist: float = 4.0,
                 c_recon: float = 2.0,
                 mask_tasks: Sequence[str] = (),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.tasks = dict(tasks)
        self.mask_tasks = check_mask_tasks('JTRLoss', mask_tasks,
                                           self.tasks)
        self.stack_channels = sum(self.tasks.values())
        self.encoder = SegNetEncoder(self.stack_channels, channels, convs)
        self.decoder = JTRDecoder(channels, self.stack_channels, convs)
        self.c_dist = c_dist
        self.c_recon = c_recon

    def encode(self, stack: Tensor) -> Tensor:
        """g1: (B, sum O_t, H, W) -> joint-task latent."""
        return self.encoder(stack)[0]

    def _prediction_stack(self, preds: Dict[str, Tensor]) -> Dict[str, Tensor]:
        return {task: preds[task].softmax(dim=1) if task == 'semantic' else
                preds[task] for task in self.tasks}

    def _target_stack(self, preds: Dict[str, Tensor],
                      targets: Dict[str, Tensor],
                      labeled: Dict[str, Tensor]) -> Dict[str, Tensor]:
        stack = {}
        for task, pred in preds.items():
            target = targets[task]
            use = target_validity(task, target, task in self.mask_tasks) & \
                labeled[task].view(-1, 1, 1, 1)
            if task == 'semantic':
                target = F.one_hot(target.clamp(min=0),
                                   pred.shape[1]).permute(0, 3, 1, 2).to(
                                       pred.dtype)
            stack[task] = torch.where(use, target, pred)
        return stack

    def _recon(self, output: Tensor, stack: Dict[str, Tensor]) -> Tensor:
        parts = torch.split(output, list(self.tasks.values()), dim=1)
        loss = output.new_zeros(())
        for (task, target), part in zip(stack.items(), parts):
            if task == 'semantic':
                loss = loss - (target * part.log_softmax(dim=1)).sum(
                    dim=1).mean()
            elif task == 'normal':
                loss = loss + (1 - (F.normalize(part, dim=1) *
                                    target).sum(dim=1)).mean()
            else:
                loss = loss + (part - target).abs().mean()
        return loss

    def forward(self, preds: Dict[str, Tensor], targets: Dict[str, Tensor],
                labeled: Dict[str, Tensor],
                feats: Optional[Dict[str, Tensor]] = None
                ) -> Dict[str, Tensor]:
        """Computes the JTR terms.

        Args:
            preds (dict[str, Tensor]): head outputs (semantic logits).
            targets (dict[str, Tensor]): stacked targets (fillers where
                unlabeled).
            labeled (dict[str, Tensor]): ``{task: (B,) bool}``.
            feats (dict[str, Tensor], optional): unused.

        Returns:
            dict[str, Tensor]: ``loss_jtr_dist`` and ``loss_jtr_recon``.
        """
        pred_stack = self._prediction_stack(preds)
        target_stack = self._target_stack(pred_stack, targets, labeled)
        y_hat = torch.cat(list(pred_stack.values()), dim=1)
        y = torch.cat(list(target_stack.values()), dim=1)
        dist = 1 - F.cosine_similarity(
            self.encode(y_hat).flatten(1), self.encode(y).flatten(1), dim=1)
        recon = self._recon(
            self.decoder(self.encode(y_hat.detach())),
            {t: v.detach() for t, v in pred_stack.items()}) + self._recon(
                self.decoder(self.encode(y.detach())),
                {t: v.detach() for t, v in target_stack.items()})
        return dict(loss_jtr_dist=self.c_dist * dist.mean(),
                    loss_jtr_recon=self.c_recon * recon)
