"""Surrogate of one task: aggregator -> invertible flow -> latent z."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS


class PlainMLP(nn.Module):
    """Non-invertible stand-in for a flow, for the "w/o inv" ablation.

    ``num_layers`` blocks of ``Linear(dim, hidden) -> ReLU -> Linear(hidden,
    dim)``: the same depth and hidden width as a ``RealNVPFlow`` whose
    coupling layers use one-hidden-layer ``s``/``t`` MLPs, but free to
    collapse dimensions.

    Args:
        dim (int): size of the vectors.
        num_layers (int): number of blocks.
        hidden_dim (int): hidden width of each block.
    """

    def __init__(self, dim: int, num_layers: int, hidden_dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.Linear(dim, hidden_dim), nn.ReLU(inplace=True),
                nn.Linear(hidden_dim, dim)) for _ in range(num_layers))

    def forward(self, x: Tensor) -> Tensor:
        """Maps (..., dim) to (..., dim)."""
        for layer in self.layers:
            x = layer(x)
        return x


@MODELS.register_module()
class TaskSurrogate(BaseModule):
    """Maps one task's intermediate feature to the shared latent space.

    Args:
        aggregator (dict): config of the aggregator (e.g. ``MLPAggregator``,
            ``DeformableAggregator``); it must expose ``out_dim``.
        flow (dict, optional): config of the flow. ``dim`` is filled in from
            the aggregator. Defaults to ``dict(type='RealNVPFlow')``.
        invertible (bool): False builds a ``PlainMLP`` of the flow's depth
            and hidden width instead (the paper's "w/o inv" ablation).
            Defaults to True.
        init_cfg (dict, optional): mmengine initialisation config.
    """

    def __init__(self,
                 aggregator: dict,
                 flow: Optional[dict] = None,
                 invertible: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.aggregator = MODELS.build(aggregator)
        self.out_dim = self.aggregator.out_dim
        flow = dict(type='RealNVPFlow') if flow is None else dict(flow)
        if flow.setdefault('dim', self.out_dim) != self.out_dim:
            raise ValueError(f'TaskSurrogate: flow dim ({flow["dim"]}) must '
                             f'equal the aggregator out_dim ({self.out_dim})')
        flow_net = MODELS.build(flow)
        self.invertible = invertible
        if invertible:
            self.flow = flow_net
        else:
            self.flow = PlainMLP(self.out_dim, flow_net.num_layers,
                                 flow_net.hidden_dim)

    def forward(self, feat: Tensor,
                padding_mask: Optional[Tensor] = None) -> Tensor:
        """Maps a feature to its latent.

        Args:
            feat (Tensor): (B, C, H, W) map or (B, Q, C) query set.
            padding_mask (Tensor, optional): (B, Q) bool, True marks padded
                queries; only for query sets.

        Returns:
            Tensor: (B, out_dim) latent z.
        """
        return self.flow(self.aggregator(feat, padding_mask))
