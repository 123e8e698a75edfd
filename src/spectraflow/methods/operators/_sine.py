"""The sine basis of the unit square with zero boundary values, and the Darcy residual computed in it.

On a grid of ``s`` nodes per axis that includes both boundaries (``x_j = j/(s − 1)``), the ``N = s − 2``
interior nodes and the modes ``sin(kπx)``, ``k = 1…N``, form the type-I discrete sine transform: the sampled
modes are orthogonal, so a field that vanishes on the boundary is exactly the sum of its first ``N`` modes at
the nodes, and ``coefficients``/``synthesis`` are inverse to each other. A model whose output is a sum of these
modes satisfies the Dirichlet condition ``u = 0`` exactly, at every resolution.

:func:`darcy_residual` measures how far ``u`` is from solving ``−∇·(a∇u) = f`` without any solution data, in
coefficient space (the neural spectral method [1]_): the flux ``a ∂u`` is formed at the nodes (``∂u`` exact
from ``u``'s sine coefficients), projected onto the cosine–sine products (trapezoidal quadrature, exact for
the grid's trigonometric polynomials), differentiated mode by mode (``∂ₓ cos(kπx) = −kπ sin(kπx)``: integration
by parts against the sine modes, which vanish at the boundary) and compared with ``f``'s sine coefficients. By
Parseval the sum of squared coefficients is the residual's squared norm; weighting mode ``(k, l)`` by
``1/(π²(k² + l²))`` makes it the residual's H⁻¹ norm, which for a coefficient bounded away from zero is
equivalent to the error's energy norm — the plain L² residual would weigh the error's mode ``k`` by ``k⁴`` and
train the highest modes first.

References
----------
.. [1] Y. Du, N. Chalapathi and A. S. Krishnapriyan, "Neural spectral methods: self-supervised learning in the
   spectral domain," ICLR 2024.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

__all__ = ["sine_matrix", "coefficients", "synthesis", "darcy_residual", "poisson_scale"]


@lru_cache(maxsize=32)
def _tables(size: int, modes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(sine, cosine, wavenumbers, weights)`` at the ``size`` nodes, float64: ``sin(kπx_j)`` and
    ``cos(kπx_j)`` ``(size, modes)``, ``kπ`` ``(modes,)`` and the trapezoidal weights ``(size,)``."""
    x = torch.linspace(0.0, 1.0, size, dtype=torch.float64)
    k = torch.arange(1, modes + 1, dtype=torch.float64) * math.pi
    weights = torch.full((size,), 1.0 / (size - 1), dtype=torch.float64)
    weights[[0, -1]] *= 0.5
    sine = torch.sin(x[:, None] * k)
    sine[[0, -1]] = 0.0  # exactly, not to rounding: the boundary condition holds bit for bit
    return sine, torch.cos(x[:, None] * k), k, weights


def sine_matrix(size: int, modes: int, like: torch.Tensor) -> torch.Tensor:
    """``sin(kπx_j)`` at the ``size`` nodes for ``k = 1…modes``: ``(size, modes)`` in ``like``'s dtype/device."""
    return _tables(size, modes)[0].to(like)


def _check(size: int, modes: int) -> None:
    if size < 3 or not 1 <= modes <= size - 2:
        raise ValueError(f"sine basis: {modes} modes on {size} nodes; expected 1 ≤ modes ≤ nodes − 2")


def coefficients(field: torch.Tensor, modes: int | None = None) -> torch.Tensor:
    """The sine coefficients ``(…, modes, modes)`` (axis order y, x) of the last two axes of ``field``
    ``(…, s, s)`` (boundary values ignored); all ``s − 2`` modes by default."""
    size = field.shape[-1]
    modes = size - 2 if modes is None else modes
    _check(size, modes)
    sine = sine_matrix(size, modes, field) * (2.0 / (size - 1))  # the DST-I's inverse is itself, scaled
    return sine.T @ field @ sine


def synthesis(coeffs: torch.Tensor, size: int) -> torch.Tensor:
    """The field ``(…, size, size)`` of sine coefficients ``(…, m, m)``: zero on the boundary by construction."""
    _check(size, coeffs.shape[-1])
    sine = sine_matrix(size, coeffs.shape[-1], coeffs)
    return sine @ coeffs @ sine.T


def darcy_residual(u: torch.Tensor, a: torch.Tensor, forcing: float = 1.0, reduce: bool = True) -> torch.Tensor:
    """The relative H⁻¹ norm of the residual of ``−∇·(a∇u) = f`` (``f`` constant ``forcing``) per sample,
    ``‖r‖₋₁ / ‖f‖₋₁`` in the first ``s − 2`` modes of each axis; their mean when ``reduce``. ``u`` and ``a``
    are ``(batch, 1, s, s)`` on a grid that includes the boundary; ``u``'s boundary values are ignored (a
    model of the sine basis has none)."""
    if u.shape != a.shape or u.ndim != 4 or u.shape[1] != 1 or u.shape[-1] != u.shape[-2]:
        raise ValueError(f"darcy residual: u {tuple(u.shape)} and a {tuple(a.shape)}; expected equal "
                         "(batch, 1, s, s) shapes")
    size = u.shape[-1]
    modes = size - 2
    sine, cosine, k, weights = (t.to(device=u.device) for t in _tables(size, modes))
    dcos = k * cosine  # kπ cos(kπx)
    u64, a64 = u[:, 0].double(), a[:, 0].double()
    c = coefficients(u64)  # (batch, l, k)
    du_dx = sine @ c @ dcos.T  # Σ c_lk kπ cos(kπx) sin(lπy) at the nodes
    du_dy = dcos @ c @ sine.T
    project_sine = 2.0 * weights[:, None] * sine  # (node, mode): 2∫ g sin(kπx) dx by the trapezoidal rule
    project_cosine = 2.0 * weights[:, None] * cosine
    flux_x = project_sine.T @ (a64 * du_dx) @ project_cosine  # coefficients on sin(lπy) cos(kπx)
    flux_y = project_cosine.T @ (a64 * du_dy) @ project_sine  # on cos(lπy) sin(kπx)
    ones = torch.ones(size, dtype=torch.float64, device=u.device)
    f = forcing * (project_sine.T @ ones)[:, None] * (project_sine.T @ ones)[None, :]
    residual = k[None, :] * flux_x + k[:, None] * flux_y - f  # −∂ₓ(a∂ₓu) − ∂ᵧ(a∂ᵧu) − f, mode by mode
    h_minus_one = 1.0 / (k[:, None] ** 2 + k[None, :] ** 2)
    error = ((residual**2 * h_minus_one).flatten(1).sum(1) / (f**2 * h_minus_one).sum()).sqrt()
    return (error.mean() if reduce else error).to(u.dtype)


def poisson_scale(size: int = 33) -> float:
    """The standard deviation over the unit square of the solution of ``−Δψ = 1``, ``ψ = 0`` on the boundary
    (its sine series, evaluated on a ``size``-node grid)."""
    k = torch.arange(1, size - 1, dtype=torch.float64)
    f = 2.0 * (1.0 - (-1.0) ** k) / (k * math.pi)  # sine coefficients of 1 on [0, 1]
    psi = synthesis(f[:, None] * f[None, :] / (math.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2)), size)
    return float(psi.std())
