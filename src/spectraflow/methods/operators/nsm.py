"""Neural spectral method for Darcy flow ``−∇·(a∇u) = 1``, ``u = 0`` on the boundary of the unit square [1]_:
a network that lives in the sine basis of the boundary conditions and learns from the equation alone.

Each layer maps the field's sine coefficients (the lowest ``modes`` per axis) by a learned channel mixing per
mode, adds a pointwise linear path and applies GELU at the grid nodes (the collocation points), as an FNO
layer does in the Fourier basis; the output is a sine series (every mode the grid resolves), so ``u = 0`` on
the boundary holds exactly, not approximately as a penalty would make it. Trained with
``train_operator(..., loss="darcy_residual")`` it needs no solution data: the loss is the residual's H⁻¹
norm computed in coefficient space (see :mod:`._sine`); trained with ``l2``/``h1`` it is a supervised operator
like the others. Grids include both boundaries (spacing ``1/(s − 1)``), as our Darcy solver's do.

Without solution data the output's scale cannot be fitted from data; it is set from the equation: the
standard deviation of ``u`` for the training coefficients' mean as a constant coefficient.

References
----------
.. [1] Y. Du, N. Chalapathi and A. S. Krishnapriyan, "Neural spectral methods: self-supervised learning in the
   spectral domain," ICLR 2024.
"""

from __future__ import annotations

import torch
from torch import nn

from ...nn import mode_matmul, spectral_std
from .. import register
from ._sine import coefficients, synthesis
from .fno import FNO

__all__ = ["NSM", "SineConv"]


class SineConv(nn.Module):
    """A learned ``in × out`` channel mixing of each of the lowest ``modes × modes`` sine coefficients of
    ``(batch, channel, s, s)``; zero on the boundary."""

    def __init__(self, in_channels: int, out_channels: int, modes: int, init: str = "product") -> None:
        super().__init__()
        self.modes = modes
        self.weight = nn.Parameter(torch.randn(in_channels, out_channels, modes, modes)
                                   * spectral_std(init, in_channels, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-1]
        m = min(self.modes, size - 2)
        c = coefficients(x, m)
        mixed = mode_matmul([c], [self.weight[:, :, :m, :m]])[0]
        return synthesis(mixed, size)


@register("operator", "nsm")
class NSM(FNO):
    """An FNO whose spectral paths are sine-basis mixings (:class:`SineConv`) and whose output is a sine series."""

    name = "nsm"

    def __init__(self, in_channels: int = 1, out_channels: int = 1, dim: int = 2, modes: int = 12, width: int = 32,
                 layers: int = 4, lifting: int = 64, projection: int = 64, init: str = "product") -> None:
        if dim != 2:
            self._fail("dim", dim, "2 (the sine basis here is of the unit square)")
        super().__init__(in_channels, out_channels, dim, modes, width, layers, lifting, projection, init=init)

    def spectral_layer(self, width: int, modes: int, dim: int) -> nn.Module:
        return SineConv(width, width, modes, self.init)

    def fit_normalizer(self, inputs: torch.Tensor, outputs: torch.Tensor | None) -> None:
        """As every model's, but the output is only scaled: a shift would break ``u = 0`` on the boundary."""
        super().fit_normalizer(inputs, outputs)
        with torch.no_grad():
            self.get_buffer("output_mean").zero_()

    def core(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != x.shape[-2] or x.shape[-1] < 3:
            self._fail("grid", tuple(x.shape[-2:]), "a square grid of at least 3×3 nodes")
        return synthesis(coefficients(super().core(x)), x.shape[-1])
