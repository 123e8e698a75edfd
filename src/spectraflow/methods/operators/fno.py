"""Fourier neural operator: lifting, ``layers`` Fourier layers (spectral convolution on the lowest ``modes``
plus a pointwise linear path, GELU), projection [1]_. The grid coordinates are appended to the input, as in
[1]_. Weights are real tensors (see :class:`spectraflow.nn.SpectralConv`), so the model works under
DataParallel/DDP and loads with ``weights_only=True``.

References
----------
.. [1] Z. Li, N. Kovachki, K. Azizzadenesheli, B. Liu, K. Bhattacharya, A. Stuart and A. Anandkumar,
   "Fourier neural operator for parametric partial differential equations," ICLR 2021.
"""

from __future__ import annotations

import torch
from torch import nn

from ...nn import SPECTRAL_INITS, SpectralConv
from .. import register
from ._base import OperatorModel, grid_coordinates

__all__ = ["FNO"]


def _pointwise(dim: int, cin: int, cout: int) -> nn.Module:
    return (nn.Conv1d if dim == 1 else nn.Conv2d)(cin, cout, 1)


@register("operator", "fno")
class FNO(OperatorModel):
    name = "fno"
    modes: int
    width: int
    layers: int
    lifting: int
    projection: int
    init: str

    def __init__(self, in_channels: int = 1, out_channels: int = 1, dim: int = 2, modes: int = 8, width: int = 32,
                 layers: int = 4, lifting: int = 64, projection: int = 64, residual: bool = False,
                 init: str = "product") -> None:
        super().__init__(in_channels, out_channels, dim, residual=residual, modes=modes, width=width, layers=layers,
                         lifting=lifting, projection=projection)
        self._option("init", init, SPECTRAL_INITS, "how the spectral weights are drawn: spectraflow.nn.spectral_std")
        self.lift = nn.Sequential(_pointwise(dim, in_channels + dim, lifting), nn.GELU(),
                                  _pointwise(dim, lifting, width))
        self.spectral = nn.ModuleList(self.spectral_layer(width, modes, dim) for _ in range(layers))
        self.skip = nn.ModuleList(_pointwise(dim, width, width) for _ in range(layers))
        self.project = nn.Sequential(_pointwise(dim, width, projection), nn.GELU(),
                                     _pointwise(dim, projection, out_channels))

    def spectral_layer(self, width: int, modes: int, dim: int) -> nn.Module:
        """One layer's spectral path: a convolution on the lowest Fourier modes."""
        return SpectralConv(width, width, modes, dim, self.init)

    def core(self, x: torch.Tensor) -> torch.Tensor:
        coordinates = grid_coordinates(tuple(x.shape[2:]), x.shape[0], x.device, x.dtype)
        h = self.lift(torch.cat([x, coordinates], dim=1))
        for i, (spectral, skip) in enumerate(zip(self.spectral, self.skip, strict=True)):
            h = spectral(h) + skip(h)
            if i < self.layers - 1:
                h = nn.functional.gelu(h)
        return self.project(h)
