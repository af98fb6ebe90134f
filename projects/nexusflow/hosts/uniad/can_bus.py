"""BEVFormer's CAN-bus embedding added to every BEV query."""
from torch import Tensor, nn

from ...structures.can_bus import CAN_BUS_DIMS


class CanBusMLP(nn.Module):
    """``Linear(18, C / 2) -> ReLU -> Linear(C / 2, C) -> ReLU ->
    LayerNorm(C)`` on the 18-value CAN-bus vector (the official
    ``can_bus_mlp`` with ``can_bus_norm=True``).

    Args:
        embed_dims (int): output width. Defaults to 256.
        in_dims (int): CAN-bus values. Defaults to 18.
    """

    def __init__(self, embed_dims: int = 256,
                 in_dims: int = CAN_BUS_DIMS) -> None:
        super().__init__()
        self.fc_in = nn.Linear(in_dims, embed_dims // 2)
        self.fc_out = nn.Linear(embed_dims // 2, embed_dims)
        self.relu = nn.ReLU(inplace=True)
        self.norm = nn.LayerNorm(embed_dims)

    def init_weights(self) -> None:
        """Xavier-uniform weights; the biases keep PyTorch's default, which
        is what the official initialisation ends up doing (its
        ``xavier_init`` of the whole ``nn.Sequential`` touches nothing, the
        transformer-wide Xavier pass only the weights)."""
        for layer in (self.fc_in, self.fc_out):
            nn.init.xavier_uniform_(layer.weight)

    def forward(self, can_bus: Tensor) -> Tensor:
        """Embeds the CAN-bus vectors.

        Args:
            can_bus (Tensor): ``(B, 18)``.

        Returns:
            Tensor: ``(B, C)``.
        """
        return self.norm(self.relu(self.fc_out(self.relu(
            self.fc_in(can_bus)))))
