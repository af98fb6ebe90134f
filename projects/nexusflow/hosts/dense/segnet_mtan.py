"""SegNet-style encoder/decoder with MTAN-lite task attention (ours)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS


def conv_block(in_channels: int, out_channels: int,
               kernel_size: int = 3) -> nn.Sequential:
    """Conv -> BatchNorm -> ReLU, keeping the spatial size."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size,
                  padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class SegNetEncoder(nn.Module):
    """VGG-like stages, each ``convs`` conv blocks and a 2x2 max-pool.

    Args:
        in_channels (int): input channels.
        channels (Sequence[int]): output channels per stage; the input
            shrinks by ``2 ** len(channels)``.
        convs (int): conv blocks per stage. Defaults to 2.
    """

    def __init__(self, in_channels: int, channels: Sequence[int],
                 convs: int = 2) -> None:
        super().__init__()
        self.stages = nn.ModuleList()
        for out_channels in channels:
            self.stages.append(nn.Sequential(*[
                conv_block(in_channels if i == 0 else out_channels,
                           out_channels) for i in range(convs)
            ]))
            in_channels = out_channels
        self.pool = nn.MaxPool2d(2, 2, return_indices=True)

    def forward(self, x: Tensor) -> Tuple[Tensor, List[Tensor], List]:
        """Encodes ``x``.

        Returns:
            tuple: bottleneck (B, channels[-1], H/2^S, W/2^S), the pooling
            indices and the pre-pool sizes of every stage.
        """
        indices, sizes = [], []
        for stage in self.stages:
            x = stage(x)
            sizes.append(x.shape[-2:])
            x, index = self.pool(x)
            indices.append(index)
        return x, indices, sizes


@MODELS.register_module()
class SegNetMTAN(BaseModule):
    """Shared SegNet encoder/decoder; each task attends to every decoder
    stage (MTAN-lite) and gets its own full-resolution feature.

    Decoder stage s unpools with the encoder's indices, then task t gates
    it with ``sigmoid(conv1x1([shared_s, up(task_{s-1})]))`` and refines the
    gated map with a conv block. The per-task outputs are the "task decoder
    features" the heads read and NexusFlow's surrogates tap.

    Args:
        tasks (Sequence[str]): task names.
        in_channels (int): image channels. Defaults to 3.
        channels (Sequence[int]): encoder stage widths. Defaults to SegNet's
            (64, 128, 256, 512, 512), i.e. a 512 x 9 x 12 bottleneck at
            288 x 384.
        convs (int): conv blocks per encoder / decoder stage. Defaults to 2.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 tasks: Sequence[str],
                 in_channels: int = 3,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 convs: int = 2,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not tasks:
            raise ValueError('SegNetMTAN: tasks must not be empty')
        self.tasks = list(tasks)
        self.channels = tuple(channels)
        self.out_channels = self.channels[0]
        self.encoder = SegNetEncoder(in_channels, self.channels, convs)
        self.unpool = nn.MaxUnpool2d(2, 2)
        # Decoder stage s maps channels[-1-s] to channels[-2-s] (the last
        # stage keeps channels[0]).
        widths = list(reversed(self.channels))
        outs = widths[1:] + [widths[-1]]
        self.decoder = nn.ModuleList(
            nn.Sequential(*[
                conv_block(w if i == 0 else o, o) for i in range(convs)
            ]) for w, o in zip(widths, outs))
        self.attention = nn.ModuleDict()
        self.refine = nn.ModuleDict()
        for task in self.tasks:
            gates, refines = nn.ModuleList(), nn.ModuleList()
            for stage, width in enumerate(outs):
                prev = outs[stage - 1] if stage else 0
                gates.append(nn.Sequential(
                    nn.Conv2d(width + prev, width, 1), nn.Sigmoid()))
                refines.append(conv_block(width, width))
            self.attention[task] = gates
            self.refine[task] = refines
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')

    def forward(self, x: Tensor) -> Dict[str, Tensor]:
        """Computes the task decoder features.

        Args:
            x (Tensor): (B, in_channels, H, W); H and W divisible by
                ``2 ** len(channels)``.

        Returns:
            dict[str, Tensor]: ``{task: (B, channels[0], H, W)}``.
        """
        stride = 2**len(self.channels)
        if x.shape[-1] % stride or x.shape[-2] % stride:
            raise ValueError(f'SegNetMTAN: input size {tuple(x.shape[-2:])}'
                             f' must be divisible by {stride} '
                             f'({len(self.channels)} pooling stages)')
        x, indices, sizes = self.encoder(x)
        task_feats = {task: None for task in self.tasks}
        for stage, block in enumerate(self.decoder):
            level = len(self.decoder) - 1 - stage
            x = block(self.unpool(x, indices[level], sizes[level]))
            for task in self.tasks:
                prev = task_feats[task]
                gate_in = x if prev is None else torch.cat(
                    [x, self.upsample(prev)], dim=1)
                gate = self.attention[task][stage](gate_in)
                task_feats[task] = self.refine[task][stage](gate * x)
        return task_feats
