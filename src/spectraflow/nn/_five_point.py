"""A differentiable solve of the five-point finite-volume system of −∇·(k∇u) = f, u = 0 on the boundary.

The unknowns are the interior nodes of an ``r × c`` grid in row-major order; the matrix is symmetric positive
definite (positive face conductivities) with five diagonals: the main one, ±1 (east/west neighbours) and ±c
(south/north). It is solved per sample as a banded system of bandwidth ``c`` (Cholesky, ``O(r·c³)``, memory
``O(r·c²)``), so it scales to grids where a dense matrix would not fit. The backward pass is the adjoint solve
with the same Cholesky factor: for ``A u = f`` with loss gradient ``g = ∂L/∂u``, ``∂L/∂f = A⁻¹g`` (``A`` is
symmetric) and ``∂L/∂A_pq = −(A⁻¹g)_p u_q``, summed over each diagonal's two symmetric entries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["five_point_operator", "five_point_solve"]


def five_point_operator(east: torch.Tensor, south: torch.Tensor, spacing: tuple[float, float]
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The diagonals ``(main, east, south)`` of the system on an ``(H, W)`` node grid whose border is the
    boundary: ``east`` ``(B, H, W − 1)`` are the conductivities of the faces between ``(i, j)`` and
    ``(i, j + 1)``, ``south`` ``(B, H − 1, W)`` those between ``(i, j)`` and ``(i + 1, j)``; ``spacing`` is
    ``(dy, dx)``. Returns ``main`` ``(B, m)``, ``east`` ``(B, m − 1)`` and ``south`` ``(B, m − c)`` for the
    ``m = r·c`` interior nodes (``r = H − 2``, ``c = W − 2``), off-diagonals negative.
    """
    dy, dx = spacing
    to_east, to_west = east[:, 1:-1, 1:], east[:, 1:-1, :-1]  # each interior node's four faces, (B, r, c)
    to_south, to_north = south[:, 1:, 1:-1], south[:, :-1, 1:-1]
    main = ((to_east + to_west) / dx**2 + (to_south + to_north) / dy**2).flatten(1)
    east_coupling = -to_east / dx**2
    east_coupling = torch.cat([east_coupling[..., :-1], torch.zeros_like(east_coupling[..., -1:])], -1)
    return main, east_coupling.flatten(1)[:, :-1], (-to_south[:, :-1] / dy**2).flatten(1)


def _banded(main: np.ndarray, east: np.ndarray, south: np.ndarray) -> np.ndarray:
    """Upper banded storage (``scipy.linalg.solveh_banded``) of one sample's matrix: bandwidth ``c``."""
    m, c = len(main), len(main) - len(south)
    band = np.zeros((c + 1, m))
    band[c] = main
    band[c - 1, 1:] = east
    band[0, c:] = south
    return band


def _factor(band: np.ndarray) -> np.ndarray:
    from scipy.linalg import cholesky_banded

    return np.asarray(cholesky_banded(band, check_finite=False))


def _solve(factor: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve_banded

    return np.asarray(cho_solve_banded((factor, False), rhs, check_finite=False))


class _FivePointSolve(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, main: torch.Tensor, east: torch.Tensor, south: torch.Tensor,
                rhs: torch.Tensor) -> torch.Tensor:
        arrays = [t.detach().cpu().double().numpy() for t in (main, east, south, rhs)]
        factors = [_factor(_banded(*diagonals)) for diagonals in zip(*arrays[:3], strict=True)]
        u = np.stack([_solve(factor, f) for factor, f in zip(factors, arrays[3], strict=True)])
        ctx.factors, ctx.width = factors, main.shape[1] - south.shape[1]  # the backward pass reuses them
        solution = torch.from_numpy(u).to(rhs)
        ctx.save_for_backward(solution)
        return solution

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, ...]:
        (solution,) = ctx.saved_tensors
        g = grad.detach().cpu().double().numpy()
        adjoint = torch.from_numpy(np.stack([_solve(factor, gi) for factor, gi in zip(ctx.factors, g, strict=True)]))
        adjoint = adjoint.to(solution)
        c = ctx.width
        d_main = -adjoint * solution
        d_east = -(adjoint[:, :-1] * solution[:, 1:] + adjoint[:, 1:] * solution[:, :-1])
        d_south = -(adjoint[:, :-c] * solution[:, c:] + adjoint[:, c:] * solution[:, :-c])
        return d_main, d_east, d_south, adjoint


def five_point_solve(main: torch.Tensor, east: torch.Tensor, south: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``u`` ``(B, m)`` with ``A u = rhs`` for the matrices of :func:`five_point_operator`; differentiable in
    every argument. Solved on the CPU in float64 (banded Cholesky), returned on ``rhs``'s device and dtype."""
    return _FivePointSolve.apply(main, east, south, rhs)
