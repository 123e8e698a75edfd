"""Normalisation with statistics fitted out of core in one pass, and its inverse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import ConfigError
from ._stats import band_statistics

__all__ = ["NORMALIZATIONS", "Normalization", "fit_normalization"]

NORMALIZATIONS = ("minmax", "standard", "robust")


@dataclass(frozen=True)
class Normalization:
    """``normalised = (x - offset) / scale``, clipped to ``[0, 1]`` when ``clip``; per band or global.

    ``offset`` and ``scale`` are arrays of one value (global) or one per band.
    """

    method: str
    offset: np.ndarray
    scale: np.ndarray
    clip: bool = False

    def forward(self, spectra: np.ndarray) -> np.ndarray:
        out = (spectra - self.offset.astype(spectra.dtype)) / self.scale.astype(spectra.dtype)
        return np.clip(out, 0.0, 1.0) if self.clip else out

    def inverse(self, spectra: np.ndarray) -> np.ndarray:
        return spectra * self.scale.astype(spectra.dtype) + self.offset.astype(spectra.dtype)

    def to_record(self) -> dict[str, Any]:
        return {"method": self.method, "offset": self.offset.tolist(), "scale": self.scale.tolist(),
                "clip": self.clip}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Normalization:
        return cls(record["method"], np.asarray(record["offset"]), np.asarray(record["scale"]),
                   bool(record["clip"]))


def fit_normalization(cube: Any, method: Literal["minmax", "standard", "robust"] = "minmax", *,
                      per_band: bool = False, percentiles: Sequence[float] = (2.0, 98.0)) -> Normalization:
    """Fit a normalisation to ``cube`` in one pass over its chunks.

    ``minmax`` maps [min, max] to [0, 1]; ``standard`` subtracts the mean and divides by the standard
    deviation; ``robust`` maps the ``percentiles`` to [0, 1] and clips outside (percentiles from merged
    per-chunk quantile sketches, a rank error well under 1 %). ``per_band`` fits each band on its own;
    otherwise one offset and scale serve all bands (keeping spectral shapes).
    """
    if method not in NORMALIZATIONS:
        raise ConfigError(f"normalize method {method!r}: expected one of {NORMALIZATIONS}")
    low_pct, high_pct = (float(p) for p in percentiles)
    if method == "robust" and not 0.0 <= low_pct < high_pct <= 100.0:
        raise ConfigError(f"normalize percentiles {list(percentiles)}: expected 0 <= low < high <= 100")
    stats = band_statistics(cube, quantiles=method == "robust")
    if method == "minmax":
        low, high = (stats.minimum, stats.maximum) if per_band else (stats.minimum.min(), stats.maximum.max())
        offset, scale = np.atleast_1d(low), np.atleast_1d(high - low)
    elif method == "standard":
        if per_band:
            offset, scale = stats.mean, stats.std
        else:
            n = stats.count * stats.total.size
            mean = stats.total.sum() / n
            var = stats.total_sq.sum() / n - mean**2
            offset, scale = np.atleast_1d(mean), np.atleast_1d(np.sqrt(max(var, 0.0) * n / max(n - 1, 1)))
    else:
        assert stats.sketch is not None
        if per_band:
            q = stats.quantile(np.array([low_pct, high_pct]) / 100)
            offset, scale = q[:, 0], q[:, 1] - q[:, 0]
        else:  # all bands pooled: every band's sketch stands for the same number of values
            pooled = np.sort(stats.sketch.ravel())
            positions = np.linspace(0.0, 1.0, pooled.size)
            low, high = np.interp([low_pct / 100, high_pct / 100], positions, pooled)
            offset, scale = np.atleast_1d(low), np.atleast_1d(high - low)
    scale = np.where(np.asarray(scale) > 0, scale, 1.0)  # a constant band maps to 0, not to NaN
    return Normalization(method, np.asarray(offset, dtype=np.float64), np.asarray(scale, dtype=np.float64),
                         clip=method == "robust")
