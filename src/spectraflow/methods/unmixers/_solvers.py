"""Batched abundance solvers in torch: exact FCLS/NNLS by active-set enumeration, and ADMM (SUnSAL).

All solvers take pixel spectra ``Y`` ``(pixel, band)`` and endmembers ``E`` ``(endmember, band)`` as tensors
and return abundances ``(pixel, endmember)``. They run on whatever device the tensors are on, in float64 by
default (CPU) so that the exact solvers agree with a QP solver to ~1e-10.
"""

from __future__ import annotations

import itertools

import torch

__all__ = ["exact_least_squares", "admm_least_squares"]


def exact_least_squares(y: torch.Tensor, e: torch.Tensor, *, sum_to_one: bool, batch: int = 1 << 17) -> torch.Tensor:
    """Non-negative least squares (``sum_to_one``: fully constrained, FCLS) solved exactly.

    The problem is a convex QP whose solution, on its support ``S``, is the (sum-to-one constrained)
    least-squares fit on the endmembers in ``S``; every feasible such fit is a feasible point, so the
    solution is the feasible subset fit of least residual. All ``2^p - 1`` subsets are tried, vectorised
    over pixels, which is exact and fast for the few endmembers of a scene (p ≤ 12).
    """
    p = e.shape[0]
    gram = e @ e.T
    out = torch.empty((y.shape[0], p), dtype=y.dtype, device=y.device)
    subsets = [list(s) for k in range(1, p + 1) for s in itertools.combinations(range(p), k)]
    # per subset, the pieces every pixel shares: (G_S)^-1 and, for sum-to-one, the correction direction
    shared = []
    for s in subsets:
        inverse = torch.linalg.pinv(gram[s][:, s])
        ones = inverse.sum(dim=1)
        shared.append((s, inverse, ones / ones.sum() if sum_to_one else None))
    for start in range(0, y.shape[0], batch):
        yb = y[start:start + batch]
        b = yb @ e.T  # (n, p) projections E y
        best = torch.full((yb.shape[0],), float("inf"), dtype=y.dtype, device=y.device)
        best_a = torch.zeros((yb.shape[0], p), dtype=y.dtype, device=y.device)
        for s, inverse, correction in shared:
            bs = b[:, s]
            a = bs @ inverse
            if correction is not None:
                a = a - (a.sum(dim=1, keepdim=True) - 1.0) * correction
            # ‖y - E_S a‖² up to the constant ‖y‖²: -2 aᵀb + aᵀGa
            residual = -2.0 * (a * bs).sum(dim=1) + ((a @ gram[s][:, s]) * a).sum(dim=1)
            feasible = (a >= -1e-10).all(dim=1)
            better = feasible & (residual < best - 1e-14 * residual.abs().clamp_min(1.0))
            if better.any():
                best = torch.where(better, residual, best)
                rows = torch.zeros_like(best_a)
                rows[:, s] = a
                best_a = torch.where(better[:, None], rows, best_a)
        out[start:start + batch] = best_a.clamp_min(0.0)
    if sum_to_one:
        out = out / out.sum(dim=1, keepdim=True)
    return out


def admm_least_squares(y: torch.Tensor, e: torch.Tensor, *, sparsity: float = 0.0, sum_to_one: bool = False,
                       positive: bool = True, mu: float | None = None, iterations: int = 1000,
                       tolerance: float = 1e-6) -> torch.Tensor:
    """``min ½‖Y - A E‖² + λ‖A‖₁`` s.t. ``A ≥ 0`` (and rows summing to one) by ADMM, all pixels at once.

    The SUnSAL algorithm: J. M. Bioucas-Dias and M. A. T. Figueiredo, "Alternating direction algorithms for
    constrained sparse regression: application to hyperspectral unmixing," WHISPERS 2010. Stops when the
    primal and dual residuals fall under ``tolerance`` (relative) or after ``iterations``.
    """
    p = e.shape[0]
    gram = e @ e.T
    if mu is None:
        mu = float(torch.trace(gram)) / p * 1e-2 + 1e-12
    eye = torch.eye(p, dtype=y.dtype, device=y.device)
    w = torch.linalg.inv(gram + mu * eye)
    ey = y @ e.T  # (n, p)
    ones = torch.ones(p, dtype=y.dtype, device=y.device)
    if sum_to_one:
        c = w @ ones / (ones @ w @ ones)
    z = (ey @ w).clamp_min(0.0) if positive else ey @ w
    d = torch.zeros_like(z)
    threshold = sparsity / mu
    scale = float(z.norm()) + 1e-30
    for _ in range(iterations):
        x = (ey + mu * (z + d)) @ w
        if sum_to_one:
            x = x - (x.sum(dim=1, keepdim=True) - 1.0) * c
        z_old = z
        v = x - d
        z = torch.sign(v) * (v.abs() - threshold).clamp_min(0.0) if threshold > 0 else v
        if positive:
            z = z.clamp_min(0.0)
        d = d - (x - z)
        primal = float((x - z).norm()) / scale
        dual = mu * float((z - z_old).norm()) / scale
        if primal < tolerance and dual < tolerance:
            break
    return z
