"""Seeded noise models: the protocol the hyperspectral denoising literature benchmarks with.

On a clean cube ``(y, x, band)`` scaled to [0, 1], following QRNN3D (Wei et al., IEEE TNNLS 32(1), 2021),
HSDT and HyDe:

``gaussian``   i.i.d. Gaussian of one σ (``sigma``, in units of 1/255; the field uses 30, 50, 70).
``blind``      i.i.d. Gaussian with σ drawn once per cube from U[10, 70]/255.
``noniid``     each band its own σ drawn from {10, 30, 50, 70}/255.
``stripe``     ``noniid`` plus stripes: on a third of the bands, 5–15 % of the columns shifted by U[−0.25, 0.25].
``deadline``   ``noniid`` plus dead lines: on a third of the bands, 5–15 % of the columns set to 0.
``impulse``    ``noniid`` plus salt-and-pepper on a third of the bands, each at a ratio from {0.1, 0.3, 0.5, 0.7}.
``mixture``    ``noniid`` plus stripes, dead lines and impulse, each on its own disjoint third of the bands.
``poisson``    shot noise of photon-limited data: ``Poisson(clean × peak) / peak`` (``peak`` photons at 1.0).

The same seed gives the same noise on any machine (NumPy's PCG64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["NOISE_CASES", "add_noise"]

NOISE_CASES = ("gaussian", "blind", "noniid", "stripe", "deadline", "impulse", "mixture", "poisson")
NONIID_SIGMAS = (10, 30, 50, 70)
IMPULSE_RATIOS = (0.1, 0.3, 0.5, 0.7)


def _noniid(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    sigma = rng.choice(NONIID_SIGMAS, size=shape[-1]) / 255.0
    return rng.standard_normal(shape) * sigma


def _columns(rng: np.random.Generator, width: int) -> np.ndarray:
    count = int(rng.integers(int(np.ceil(0.05 * width)), int(np.floor(0.15 * width)) + 1))
    return rng.choice(width, size=max(count, 1), replace=False)


def _stripes(rng: np.random.Generator, noisy: np.ndarray, bands: np.ndarray) -> None:
    for b in bands:
        columns = _columns(rng, noisy.shape[1])
        noisy[:, columns, b] += rng.uniform(-0.25, 0.25, size=columns.size)


def _deadlines(rng: np.random.Generator, noisy: np.ndarray, bands: np.ndarray) -> None:
    for b in bands:
        noisy[:, _columns(rng, noisy.shape[1]), b] = 0.0


def _impulse(rng: np.random.Generator, noisy: np.ndarray, bands: np.ndarray) -> None:
    for b in bands:
        ratio = rng.choice(IMPULSE_RATIOS)
        hit = rng.random(noisy.shape[:2]) < ratio
        salt = rng.random(noisy.shape[:2]) < 0.5
        noisy[hit & salt, b] = 1.0
        noisy[hit & ~salt, b] = 0.0


def add_noise(clean: Any, case: str, seed: int = 0, *, sigma: float = 30.0, peak: float = 100.0) -> np.ndarray:
    """A noisy copy (float32) of ``clean`` ``(y, x, band)`` in [0, 1] under noise model ``case``.

    ``sigma`` (units of 1/255) is used by ``gaussian``; ``peak`` by ``poisson``. Values are not clipped (the
    protocol leaves the Gaussian tails), except where impulse noise sets 0 or 1.
    """
    if case not in NOISE_CASES:
        raise ConfigError(f"noise case {case!r}: expected one of {NOISE_CASES}")
    clean = np.asarray(getattr(clean, "values", clean), dtype=np.float64)
    if clean.ndim != 3:
        raise ConfigError(f"noise needs a (y, x, band) cube; got shape {clean.shape}")
    rng = np.random.default_rng(seed)
    if case == "gaussian":
        if not sigma > 0:
            raise ConfigError(f"gaussian noise sigma={sigma!r}: expected a positive value (units of 1/255)")
        return (clean + rng.standard_normal(clean.shape) * sigma / 255.0).astype(np.float32)
    if case == "blind":
        return (clean + rng.standard_normal(clean.shape) * rng.uniform(10, 70) / 255.0).astype(np.float32)
    if case == "poisson":
        if not peak > 0:
            raise ConfigError(f"poisson noise peak={peak!r}: expected a positive photon count")
        return (rng.poisson(np.clip(clean, 0, None) * peak) / peak).astype(np.float32)
    noisy = clean + _noniid(rng, clean.shape)
    n_bands = clean.shape[-1]
    third = max(1, n_bands // 3)
    order = rng.permutation(n_bands)
    corrupt = {"stripe": (_stripes,), "deadline": (_deadlines,), "impulse": (_impulse,),
               "mixture": (_stripes, _deadlines, _impulse)}.get(case, ())
    for i, corrupt_bands in enumerate(corrupt):
        # each kind on its own third of the bands (disjoint in the mixture)
        bands = order[i * third:(i + 1) * third] if case == "mixture" else order[:third]
        corrupt_bands(rng, noisy, np.sort(bands))
    return noisy.astype(np.float32)
