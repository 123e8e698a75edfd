"""DeepONet: ``G(a)(y) = Σ_k b_k(a) t_k(y) + b₀`` with a branch network on the input sampled at fixed sensors and
a trunk network on the query coordinates [1]_.

The branch sees the input field resampled (linear interpolation) to ``sensors`` points per axis, so a model
trained at one resolution accepts inputs at any other; the trunk is evaluated at the output grid's
coordinates, so it answers at any resolution too.

References
----------
.. [1] L. Lu, P. Jin, G. Pang, Z. Zhang and G. E. Karniadakis, "Learning nonlinear operators via DeepONet based
   on the universal approximation theorem of operators," Nature Machine Intelligence 3, 218-229, 2021.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import register
from ._base import OperatorModel, grid_coordinates

__all__ = ["DeepONet"]


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


@register("operator", "deeponet")
class DeepONet(OperatorModel):
    name = "deeponet"
    sensors: int
    width: int
    depth: int
    basis: int

    def __init__(self, in_channels: int = 1, out_channels: int = 1, dim: int = 2, sensors: int = 16,
                 width: int = 128, depth: int = 3, basis: int = 64, residual: bool = False) -> None:
        super().__init__(in_channels, out_channels, dim, residual=residual, sensors=sensors, width=width, depth=depth,
                         basis=basis)
        self.branch = _mlp([in_channels * sensors**dim, *[width] * depth, basis * out_channels])
        self.trunk = _mlp([dim, *[width] * depth, basis * out_channels])
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def core(self, x: torch.Tensor) -> torch.Tensor:
        grid = tuple(x.shape[2:])
        mode = "linear" if self.dim == 1 else "bilinear"
        sensed = nn.functional.interpolate(x, size=(self.sensors,) * self.dim, mode=mode, align_corners=True)
        coefficients = self.branch(sensed.flatten(1)).view(x.shape[0], self.out_channels, self.basis)
        coordinates = grid_coordinates(grid, 1, x.device, x.dtype)[0].flatten(1).T  # (points, dim)
        basis = self.trunk(coordinates).view(-1, self.out_channels, self.basis)  # (points, out, basis)
        out = torch.einsum("bok,pok->bop", coefficients, basis) + self.bias.view(1, -1, 1)
        return out.view(x.shape[0], self.out_channels, *grid)
