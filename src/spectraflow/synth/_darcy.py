"""2-D Darcy flow, the operator-learning benchmark of the FNO paper: −∇·(a ∇u) = f on the unit square, u = 0 on
the boundary, with a piecewise-constant permeability ``a`` thresholded from a Gaussian random field.

The coefficient is ``ψ ~ N(0, (−Δ + τ² I)^(−α))`` (Neumann boundary, sampled in the cosine basis), then
``a = a_high`` where ``ψ ≥ 0`` and ``a_low`` elsewhere (12 and 3, τ = 3, α = 2 in [1]_). The equation is solved
with the conservative five-point finite-difference scheme, face coefficients the arithmetic mean of the two
nodes, on an ``s × s`` grid that includes the boundary (spacing ``1/(s − 1)``): second-order accurate for
smooth coefficients, as the manufactured-solution test checks. With ``refine`` the coefficient is drawn and the
equation solved on a finer grid, then both are subsampled, as the FNO paper's data are (see
:func:`darcy_dataset`).

References
----------
.. [1] Z. Li, N. Kovachki, K. Azizzadenesheli, B. Liu, K. Bhattacharya, A. Stuart and A. Anandkumar,
   "Fourier neural operator for parametric partial differential equations," ICLR 2021.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ConfigError

__all__ = ["gaussian_random_field", "darcy_coefficients", "solve_darcy", "darcy_dataset"]


def _amplitudes(modes: int, alpha: float, tau: float) -> np.ndarray:
    """The standard deviation of each cosine mode's coefficient ``(modes, modes)``; none for the mean mode (the
    thresholded field is balanced). The field's pointwise variance averaged over the square is their sum of
    squares (the basis is orthonormal)."""
    k = np.arange(modes)
    scale = (np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2) + tau**2) ** (-alpha / 2.0)
    scale[0, 0] = 0.0
    return scale


def gaussian_random_field(rng: np.random.Generator, n: int, size: int, alpha: float = 2.0, tau: float = 3.0,
                          refine: int = 1, modes: int | None = None) -> np.ndarray:
    """``n`` samples of ``N(0, (−Δ + τ²)^(−α))`` on the unit square (Neumann, the lowest ``modes`` cosine modes
    per axis, ``size`` by default), up to a constant factor, at the nodes ``i/(size − 1)`` of the solver's grid —
    ``(n, size, size)`` — and with ``refine > 1`` also at ``refine − 1`` equally spaced points between
    neighbouring nodes — ``(n, m, m)``, ``m = (size − 1)·refine + 1`` — the same field, seeded the same, so
    ``[:, ::refine, ::refine]`` is the ``refine = 1`` sample. With ``modes`` fixed the same seed draws the same
    continuous field at every ``size``: only the points it is sampled at change."""
    k = np.arange(size if modes is None else modes)
    scale = _amplitudes(len(k), alpha, tau)
    xi = rng.standard_normal((n, len(k), len(k)))
    points = np.linspace(0.0, 1.0, (size - 1) * refine + 1)
    basis = np.cos(np.pi * np.outer(points, k)) * np.where(k == 0, 1.0, np.sqrt(2.0))  # orthonormal on [0, 1]
    return np.asarray(basis @ (xi * scale) @ basis.T)


COEFFICIENTS = ("threshold", "smooth")


def darcy_coefficients(rng: np.random.Generator, n: int, size: int, low: float = 3.0, high: float = 12.0,
                       alpha: float = 2.0, tau: float = 3.0, refine: int = 1, modes: int | None = None,
                       coefficient: str = "threshold") -> np.ndarray:
    """``n`` permeability fields on the points of :func:`gaussian_random_field`: ``threshold`` — piecewise
    constant, ``high`` where the field is ≥ 0 and ``low`` elsewhere (the FNO paper's); ``smooth`` — the field's
    smooth image ``√(low·high)·(high/low)^(tanh(ψ/σ)/2)`` (σ the field's standard deviation), strictly between
    ``low`` and ``high``, as smooth as the field (the setting of spectral methods); σ² is the field's variance
    averaged over the square, so a sample does not depend on the others drawn with it."""
    if coefficient not in COEFFICIENTS:
        raise ConfigError(f"darcy: coefficient={coefficient!r}; expected one of {COEFFICIENTS}")
    psi = gaussian_random_field(rng, n, size, alpha, tau, refine, modes)
    if coefficient == "threshold":
        return np.where(psi >= 0, high, low)
    sigma = np.sqrt(np.sum(_amplitudes(size if modes is None else modes, alpha, tau) ** 2))
    return np.sqrt(low * high) * (high / low) ** (0.5 * np.tanh(psi / sigma))


def solve_darcy(coefficient: np.ndarray, forcing: float | np.ndarray = 1.0) -> np.ndarray:
    """The solution ``u`` ``(s, s)`` of −∇·(a∇u) = f, u = 0 on the boundary, on the grid of ``coefficient``."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    a = np.asarray(coefficient, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 3:
        raise ConfigError(f"darcy: coefficient of shape {a.shape}; expected a square grid of at least 3×3")
    if not np.all(a > 0):
        raise ConfigError("darcy: the permeability must be positive everywhere")
    s = a.shape[0]
    h = 1.0 / (s - 1)
    n = s - 2
    f = np.broadcast_to(np.asarray(forcing, dtype=np.float64), (s, s))[1:-1, 1:-1]
    east = 0.5 * (a[1:-1, 1:-1] + a[1:-1, 2:])  # face coefficients around each interior node
    west = 0.5 * (a[1:-1, 1:-1] + a[1:-1, :-2])
    north = 0.5 * (a[1:-1, 1:-1] + a[:-2, 1:-1])
    south = 0.5 * (a[1:-1, 1:-1] + a[2:, 1:-1])
    index = np.arange(n * n).reshape(n, n)
    rows = [index.ravel()]
    cols = [index.ravel()]
    values = [(east + west + north + south).ravel()]
    for coeff, dy, dx in ((east, 0, 1), (west, 0, -1), (north, -1, 0), (south, 1, 0)):
        inside = np.zeros((n, n), dtype=bool)
        inside[max(0, -dy):n - max(0, dy), max(0, -dx):n - max(0, dx)] = True  # neighbour is interior
        rows.append(index[inside])
        cols.append(index[inside] + dy * n + dx)
        values.append(-coeff[inside])
    matrix = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n,) * 2)
    u = np.zeros((s, s))
    u[1:-1, 1:-1] = spsolve(matrix, (h * h * f).ravel()).reshape(n, n)
    return u


def darcy_dataset(n: int, size: int, seed: int = 0, *, low: float = 3.0, high: float = 12.0, alpha: float = 2.0,
                  tau: float = 3.0, refine: int = 1, modes: int | None = None, coefficient: str = "threshold",
                  progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(a, u)``, each ``(n, size, size)`` float32: seeded coefficients and their solutions (f = 1).

    ``low``/``high`` are the two permeabilities; ``alpha`` and ``tau`` the random field's smoothness and inverse
    length scale (a larger ``tau`` gives more interfaces per unit length).

    ``refine > 1`` draws the coefficient and solves on a grid ``refine`` times finer, then keeps every
    ``refine``-th node of both: the interfaces then fall between the output's nodes, where its grid cannot see
    them, and ``u`` approximates the continuum solution rather than the output grid's own discretisation — as
    the FNO paper's data are subsampled from a 421×421 solve. ``a`` is the same for every ``refine``.

    ``modes`` fixes the random field's cosine modes (``size`` by default), so that data at different grids
    come from one distribution; ``coefficient`` is ``threshold`` (piecewise constant) or ``smooth`` (see
    :func:`darcy_coefficients`).
    """
    if not isinstance(refine, int) or refine < 1:
        raise ConfigError(f"darcy: refine={refine!r}; expected a positive integer (grid refinement of the solve)")
    for field, value in (("low", low), ("high", high), ("alpha", alpha), ("tau", tau)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
            raise ConfigError(f"darcy: {field}={value!r}; expected a positive number")
    rng = np.random.default_rng(seed)
    if modes is not None and (not isinstance(modes, int) or modes < 1):
        raise ConfigError(f"darcy: modes={modes!r}; expected a positive integer (cosine modes of the random field)")
    a = darcy_coefficients(rng, n, size, low, high, alpha, tau, refine, modes, coefficient)
    u = np.empty((n, size, size))
    for i in range(n):
        u[i] = solve_darcy(a[i])[::refine, ::refine]
        if progress is not None:
            progress(i + 1, n)
    return a[:, ::refine, ::refine].astype(np.float32), u.astype(np.float32)
