"""1-D viscous Burgers on the unit torus, ``u_t + (u²/2)_x = ν u_xx``, pseudo-spectral in space.

Space: Fourier collocation on ``n`` points with the 2/3 rule against aliasing of the quadratic term. Time: the
integrating-factor fourth-order Runge–Kutta scheme (the stiff diffusion is integrated exactly, the
nonlinear term by RK4) [1]_, fourth order in ``dt`` as the Cole–Hopf test checks. Initial conditions for
datasets are Gaussian random fields on the torus, ``N(0, 625 (−Δ + 25 I)^(−2))`` as in the FNO paper.

References
----------
.. [1] L. N. Trefethen, *Spectral Methods in MATLAB*, SIAM 2000, program 27 (integrating-factor RK4).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["solve_burgers", "burgers_dataset", "periodic_random_field"]


def periodic_random_field(rng: np.random.Generator, n: int, size: int, scale: float = 625.0, tau: float = 5.0,
                          alpha: float = 2.0) -> np.ndarray:
    """``n`` samples ``(n, size)`` of ``N(0, scale (−Δ + τ²)^(−α))`` on the unit torus (mean zero)."""
    k = np.fft.rfftfreq(size, d=1.0 / size)
    sd = np.sqrt(scale) * (4 * np.pi**2 * k**2 + tau**2) ** (-alpha / 2.0)
    sd[0] = 0.0
    coefficients = (rng.standard_normal((n, k.size)) + 1j * rng.standard_normal((n, k.size))) * sd * size / np.sqrt(2)
    return np.fft.irfft(coefficients, n=size, axis=-1)


def solve_burgers(u0: np.ndarray, viscosity: float, times: np.ndarray | list[float], dt: float) -> np.ndarray:
    """The solution at ``times`` (``(len(times), *u0.shape)``) from ``u0`` (``(..., n)``, periodic on [0, 1))."""
    u0 = np.asarray(u0, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if not viscosity > 0 or not dt > 0:
        raise ConfigError(f"burgers: viscosity={viscosity}, dt={dt}; expected positive values")
    if np.any(np.diff(times) < 0) or np.any(times < 0):
        raise ConfigError("burgers: times must be non-negative and increasing")
    n = u0.shape[-1]
    k = 2 * np.pi * np.fft.rfftfreq(n, d=1.0 / n)
    keep = np.fft.rfftfreq(n, d=1.0 / n) < n / 3  # 2/3 dealiasing

    def nonlinear(v: np.ndarray) -> np.ndarray:
        u = np.fft.irfft(v * keep, n=n, axis=-1)
        return -0.5j * k * np.fft.rfft(u * u, axis=-1) * keep

    v = np.fft.rfft(u0, axis=-1)
    out = np.empty((len(times), *u0.shape))
    t = 0.0
    for i, target in enumerate(times):
        while t < target - 1e-12:
            h = min(dt, target - t)
            half = np.exp(-viscosity * k**2 * h / 2)
            full = half * half
            a = nonlinear(v)
            b = nonlinear(half * (v + h / 2 * a))
            c = nonlinear(half * v + h / 2 * b)
            d = nonlinear(full * v + h * half * c)
            v = full * v + h / 6 * (full * a + 2 * half * (b + c) + d)
            t += h
        out[i] = np.fft.irfft(v, n=n, axis=-1)
    return out


def burgers_dataset(n: int, size: int, seed: int = 0, *, viscosity: float = 0.01, time: float = 1.0,
                    steps: int = 1, dt: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """``(u0, trajectory)``: ``(n, size)`` initial conditions and ``(n, steps + 1, size)`` solutions at
    ``steps + 1`` equally spaced times from 0 to ``time`` (float32)."""
    u0 = periodic_random_field(np.random.default_rng(seed), n, size)
    trajectory = solve_burgers(u0, viscosity, np.linspace(0.0, time, steps + 1), dt)
    return u0.astype(np.float32), np.moveaxis(trajectory, 0, 1).astype(np.float32)
