"""Bad bands: flagged by the source (ENVI ``bbl``), in named water-absorption windows, or of low SNR."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._noise import NoiseMethod, noise_covariance
from ._stats import band_statistics

__all__ = ["WATER_WINDOWS_NM", "in_windows", "band_snr"]

# Atmospheric water-vapour absorption windows (nm); the last is open-ended (None: to the end of the range).
WATER_WINDOWS_NM: tuple[tuple[float, float | None], ...] = ((1340.0, 1450.0), (1790.0, 1960.0), (2450.0, None))


def in_windows(wavelength: np.ndarray, windows: Sequence[Sequence[float | None]]) -> np.ndarray:
    """True for bands whose centre lies in any ``[start, stop]`` window (``stop`` None = no upper bound)."""
    wavelength = np.asarray(wavelength, dtype=np.float64)
    inside = np.zeros(wavelength.shape, dtype=bool)
    for start, stop in windows:
        upper = np.inf if stop is None else float(stop)
        inside |= (wavelength >= float(start if start is not None else -np.inf)) & (wavelength <= upper)
    return inside


def band_snr(cube: Any, method: NoiseMethod = "shift_difference") -> np.ndarray:
    """Per-band signal-to-noise ratio ``|mean| / noise std`` in one pass (noise as in :func:`estimate_noise`)."""
    stats = band_statistics(cube, gram=method == "regression", shift_difference=method != "regression")
    sigma = np.sqrt(np.maximum(np.diag(noise_covariance(stats, method)), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.abs(stats.mean) / sigma
    return np.where(sigma > 0, snr, np.inf)
