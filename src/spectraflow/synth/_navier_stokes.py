"""2-D incompressible Navier–Stokes in vorticity form on the unit torus, the FNO paper's third benchmark:
``ω_t + u·∇ω = ν Δω + f``, ``u = ∇^⊥ψ``, ``−Δψ = ω``.

Pseudo-spectral in space (2/3 dealiasing); in time, Crank–Nicolson for the viscous term and Heun's method
(explicit, second order) for advection and forcing, the scheme of [1]_ — second order in ``dt`` as the
Taylor–Green test checks. Datasets: ``ω₀ ~ N(0, 7^{3/2} (−Δ + 49 I)^(−2.5))``, forcing
``f = 0.1 (sin 2π(x + y) + cos 2π(x + y))``.

References
----------
.. [1] Z. Li et al., "Fourier neural operator for parametric partial differential equations," ICLR 2021.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np

from ..errors import ConfigError

__all__ = ["solve_navier_stokes", "navier_stokes_dataset", "default_forcing"]


def default_forcing(size: int) -> np.ndarray:
    g = np.arange(size) / size
    y, x = np.meshgrid(g, g, indexing="ij")
    return 0.1 * (np.sin(2 * np.pi * (x + y)) + np.cos(2 * np.pi * (x + y)))


def solve_navier_stokes(w0: np.ndarray, viscosity: float, times: np.ndarray | list[float], dt: float,
                        forcing: np.ndarray | None = None, device: str | None = None) -> np.ndarray:
    """Vorticity at ``times`` (``(len(times), *w0.shape)``) from ``w0`` (``(..., n, n)``, periodic on [0, 1)²).

    ``device`` (a torch device, e.g. ``"cuda"``) steps the whole batch there in float64; ``None`` steps with NumPy,
    which is the faster of the two on a CPU."""
    w0 = np.asarray(w0, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if not viscosity > 0 or not dt > 0:
        raise ConfigError(f"navier_stokes: viscosity={viscosity}, dt={dt}; expected positive values")
    if device is None:
        xp, put, fetch = np, np.asarray, np.asarray
    else:
        import torch

        xp, put, fetch = torch, partial(torch.as_tensor, device=device), lambda a: a.cpu().numpy()
    n = w0.shape[-1]
    ky = 2 * np.pi * np.fft.fftfreq(n, d=1.0 / n)[:, None]
    kx = 2 * np.pi * np.fft.rfftfreq(n, d=1.0 / n)[None, :]
    laplace = kx**2 + ky**2
    inverse = put(np.where(laplace > 0, 1.0 / np.where(laplace > 0, laplace, 1.0), 0.0))
    keep = put(((np.abs(ky) < 2 * np.pi * n / 3) & (np.abs(kx) < 2 * np.pi * n / 3)).astype(np.float64))
    f_hat = xp.fft.rfft2(put(forcing)) if forcing is not None else 0.0
    i_ky, i_kx, laplace = put(1j * ky), put(1j * kx), put(laplace)

    def rhs(w_hat):  # type: ignore[no-untyped-def]  # a NumPy array or a torch tensor
        psi = w_hat * inverse
        u = xp.fft.irfft2(i_ky * psi, s=(n, n))  # u = ψ_y, v = −ψ_x
        v = xp.fft.irfft2(-i_kx * psi, s=(n, n))
        wx = xp.fft.irfft2(i_kx * w_hat, s=(n, n))
        wy = xp.fft.irfft2(i_ky * w_hat, s=(n, n))
        return f_hat - xp.fft.rfft2(u * wx + v * wy) * keep

    w_hat = xp.fft.rfft2(put(w0))
    out = np.empty((len(times), *w0.shape))
    t = 0.0
    for i, target in enumerate(times):
        while t < target - 1e-12:
            h = min(dt, target - t)
            half = 0.5 * h * viscosity * laplace
            explicit = rhs(w_hat)
            predictor = (w_hat + h * explicit - half * w_hat) / (1 + half)
            w_hat = (w_hat + h * 0.5 * (explicit + rhs(predictor)) - half * w_hat) / (1 + half)
            t += h
        out[i] = fetch(xp.fft.irfft2(w_hat, s=(n, n)))
    return out


def navier_stokes_dataset(n: int, size: int, seed: int = 0, *, viscosity: float = 1e-3, time: float = 10.0,
                          steps: int = 10, dt: float = 1e-3, workers: int = 1,
                          device: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(w0, trajectory)``: ``(n, size, size)`` initial vorticities and ``(n, steps, size, size)`` vorticity at
    ``steps`` equally spaced times up to ``time`` (float32). ``workers`` processes solve contiguous shares of the
    samples with NumPy, or ``device`` (a torch device, e.g. ``"cuda"``) solves them all in one batch; the draws
    do not depend on either, nor does the result beyond rounding."""
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"navier_stokes: workers={workers!r}; expected a positive number of processes")
    rng = np.random.default_rng(seed)
    k = np.fft.fftfreq(size, d=1.0 / size)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    sd = 7**1.5 * (4 * np.pi**2 * k2 + 49) ** (-1.25)
    sd[0, 0] = 0.0
    # complex draws scaled by the covariance's square root; size² undoes ifft2's 1/size², so the field's
    # variance, Σ_k 2·sd_k², does not depend on the grid
    coefficients = (rng.standard_normal((n, size, size)) + 1j * rng.standard_normal((n, size, size))) * sd
    coefficients *= np.sqrt(2.0) * size**2
    w0 = np.fft.ifft2(coefficients).real
    solve = partial(solve_navier_stokes, viscosity=viscosity, times=np.linspace(time / steps, time, steps), dt=dt,
                    forcing=default_forcing(size))
    workers = min(workers, n)
    if device is not None:
        trajectory = solve(w0, device=device)
    elif workers == 1:
        trajectory = solve(w0)
    else:
        with ProcessPoolExecutor(workers) as pool:
            trajectory = np.concatenate(list(pool.map(solve, np.array_split(w0, workers))), axis=1)
    return w0.astype(np.float32), np.moveaxis(trajectory, 0, 1).astype(np.float32)
