"""Learned finite volumes: the output is the exact solution of a five-point finite-volume discretisation of
−∇·(k∇u) = f with u = 0 on the boundary, whose face conductivities ``k`` and source ``f`` a small
convolutional network predicts from the input fields [1]_.

For divergence-form elliptic problems: Darcy flow, steady heat conduction, electrostatics in a heterogeneous
medium. A coarse grid cannot say where an interface crosses a cell, and that decides the conductivity a face
really has (numerical homogenisation); the network learns it from the neighbourhood of each face. Each node's
log-conductivity is a pointwise linear map of the inputs plus the network's correction; a face's conductivity
is the harmonic mean of its two nodes' (the flux-continuous choice across a jump) times a learned factor; the
source is a learned scale times ``1 +`` the network's correction. The corrections start at zero, so an
untrained model is the classical harmonic-mean scheme. Conductivities are exponentials, hence positive: the
system is symmetric positive definite, the output meets the boundary condition exactly and obeys the discrete
maximum principle. It is solved banded (:func:`spectraflow.nn.five_point_solve`, adjoint gradients), so any
grid size works; the network's stencils are in grid cells, so a model keeps its accuracy best at the
resolution it was trained at.

``boundary`` says where the zero-Dirichlet boundary lies relative to the grid: ``inclusive`` — the first and
last grid lines are the boundary (the grid of our Darcy solver, ``spectraflow.synth._darcy``); ``half_open`` — the first
grid lines are the boundary and the other side lies one spacing past the last line (a subsampled ``[0, 1)``
grid, as in the neuraloperator Darcy files).

References
----------
.. [1] Y. Bar-Sinai, S. Hoyer, J. Hickey and M. P. Brenner, "Learning data-driven discretizations for partial
   differential equations," PNAS 116 (31), 15344-15349, 2019.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ...nn import five_point_operator, five_point_solve
from .. import register
from ._base import OperatorModel

__all__ = ["LearnedFiniteVolume"]

POISSON_MEAN = 0.03514  # mean of u for −Δu = 1 on the unit square, u = 0 on its boundary


@register("operator", "finite_volume")
class LearnedFiniteVolume(OperatorModel):
    name = "finite_volume"
    width: int
    layers: int
    kernel: int
    boundary: str
    BOUNDARIES: ClassVar[tuple[str, ...]] = ("inclusive", "half_open")

    def __init__(self, in_channels: int = 1, out_channels: int = 1, dim: int = 2, width: int = 32, layers: int = 4,
                 kernel: int = 3, boundary: str = "inclusive") -> None:
        super().__init__(in_channels, out_channels, dim, width=width, layers=layers, kernel=kernel)
        if dim != 2:
            self._fail("dim", dim, "2 (a two-dimensional elliptic problem)")
        if out_channels != 1:
            self._fail("out_channels", out_channels, "1 (the solution field)")
        if kernel % 2 != 1:
            self._fail("kernel", kernel, "an odd stencil size")
        self._option("boundary", boundary, self.BOUNDARIES)
        stack: list[nn.Module] = []
        for i in range(layers):
            stack += [nn.Conv2d(in_channels if i == 0 else width, width, kernel, padding=kernel // 2), nn.GELU()]
        head = nn.Conv2d(width, 4, 1)  # node log-conductivity, east and south face factors, source
        self.log_conductivity = nn.Conv2d(in_channels, 1, 1)
        with torch.no_grad():
            for parameter in (*head.parameters(), *self.log_conductivity.parameters()):
                parameter.zero_()
            self.log_conductivity.weight.fill_(1.0 / in_channels)
        self.corrections = nn.Sequential(*stack, head)
        self.source = nn.Parameter(torch.tensor(1.0))

    def fit_normalizer(self, inputs: torch.Tensor, outputs: torch.Tensor | None) -> None:
        """Also starts the source where unit conductivity gives the training outputs' mean or, without solution
        data, the mean of ``POISSON_MEAN / a`` over the inputs' coefficient ``a`` (unit forcing: the residual
        loss's equation)."""
        super().fit_normalizer(inputs, outputs)
        with torch.no_grad():
            mean = float((outputs if outputs is not None else POISSON_MEAN / inputs).float().mean())
            self.source.fill_(mean / POISSON_MEAN if mean != 0 else 1.0)

    def solution(self, x: torch.Tensor) -> torch.Tensor:
        """``u`` ``(B, H, W)`` in the outputs' units for normalised inputs ``x`` ``(B, C, H, W)``."""
        batch, _, height, width = x.shape
        if self.boundary == "half_open":  # the far boundary nodes, one spacing past the grid
            x = nn.functional.pad(x, (0, 1, 0, 1), mode="replicate")
        correction = self.corrections(x)
        conductivity = torch.exp(self.log_conductivity(x)[:, 0] + correction[:, 0])
        east = _harmonic(conductivity[..., :-1], conductivity[..., 1:]) * torch.exp(correction[:, 1, :, :-1])
        south = _harmonic(conductivity[:, :-1], conductivity[:, 1:]) * torch.exp(correction[:, 2, :-1, :])
        rows, cols = x.shape[-2], x.shape[-1]
        main, east_coupling, south_coupling = five_point_operator(east, south, (1 / (rows - 1), 1 / (cols - 1)))
        rhs = self.source * (1 + correction[:, 3, 1:-1, 1:-1])
        interior = five_point_solve(main, east_coupling, south_coupling, rhs.flatten(1))
        u = nn.functional.pad(interior.view(batch, rows - 2, cols - 2), (1, 1, 1, 1))
        return u[:, :height, :width]

    def core(self, x: torch.Tensor) -> torch.Tensor:
        u = self.solution(x)[:, None]  # physical units: undo the output normalisation the base class applies
        return (u - self._shape(self.get_buffer("output_mean"))) / self._shape(self.get_buffer("output_std"))


def _harmonic(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 2 * a * b / (a + b)
