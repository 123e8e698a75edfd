"""Operations on each spectrum: Savitzky–Golay smoothing and derivatives, continuum removal, resampling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["savgol", "upper_hull_continuum", "continuum_removed", "gaussian_response", "FWHM_TO_SIGMA"]

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def savgol(spectra: np.ndarray, window: int, order: int, deriv: int = 0, delta: float = 1.0) -> np.ndarray:
    """Savitzky–Golay filter along the last axis (band); ``deriv`` > 0 gives that derivative per ``delta``.

    Savitzky & Golay, "Smoothing and differentiation of data by simplified least squares procedures,"
    Analytical Chemistry 36(8), 1964. Edges are fitted by the polynomial of the nearest full window.
    A spectrum with any non-finite value (a masked pixel) comes out all NaN.
    """
    from scipy.signal import savgol_filter

    flat = spectra.reshape(-1, spectra.shape[-1])
    finite = np.isfinite(flat).all(axis=1)
    out = np.full(flat.shape, np.nan, dtype=np.result_type(flat.dtype, np.float32))
    if finite.any():
        out[finite] = savgol_filter(flat[finite], window, order, deriv=deriv, delta=delta, axis=-1, mode="interp")
    return out.reshape(spectra.shape)


def upper_hull_continuum(spectra: np.ndarray, wavelength: np.ndarray) -> np.ndarray:
    """The continuum of each spectrum: its upper convex hull, linearly interpolated at every band.

    Vectorised over spectra: a point lying strictly below the chord between its current neighbours cannot be
    a hull vertex, so all such points are dropped at once, repeatedly, until none is left; the endpoints
    always stay. Non-finite spectra give a non-finite continuum.
    """
    shape = spectra.shape
    y = spectra.reshape(-1, shape[-1]).astype(np.float64)
    x = np.asarray(wavelength, dtype=np.float64)
    n_spectra, n_bands = y.shape
    index = np.arange(n_bands)
    on_hull = np.ones_like(y, dtype=bool)
    rows = np.arange(n_spectra)[:, None]
    while True:
        previous = np.maximum.accumulate(np.where(on_hull, index, -1), axis=1)
        following = np.minimum.accumulate(np.where(on_hull, index, n_bands)[:, ::-1], axis=1)[:, ::-1]
        # neighbours of each hull point among the other hull points
        left = np.concatenate([np.full((n_spectra, 1), -1), previous[:, :-1]], axis=1)
        right = np.concatenate([following[:, 1:], np.full((n_spectra, 1), n_bands)], axis=1)
        inner = on_hull & (left >= 0) & (right < n_bands)
        li, ri = np.clip(left, 0, n_bands - 1), np.clip(right, 0, n_bands - 1)
        chord = y[rows, li] + (y[rows, ri] - y[rows, li]) * (x[index] - x[li]) / (x[ri] - x[li])
        below = inner & (y < chord - 1e-12 * np.abs(chord))
        if not below.any():
            break
        on_hull &= ~below
    li = np.maximum.accumulate(np.where(on_hull, index, -1), axis=1)
    ri = np.minimum.accumulate(np.where(on_hull, index, n_bands)[:, ::-1], axis=1)[:, ::-1]
    span = np.where(ri > li, x[ri] - x[li], 1.0)
    continuum = y[rows, li] + (y[rows, ri] - y[rows, li]) * (x[index] - x[li]) / span
    return continuum.reshape(shape)


def continuum_removed(spectra: np.ndarray, wavelength: np.ndarray) -> np.ndarray:
    """``spectrum / continuum`` (1 on the hull, below 1 in absorption features)."""
    continuum = upper_hull_continuum(spectra, wavelength)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(continuum != 0, spectra / continuum, np.nan)


def gaussian_response(source_wavelength: np.ndarray, target_wavelength: Sequence[float] | np.ndarray,
                      target_fwhm: Sequence[float] | np.ndarray, source_good: np.ndarray | None = None) -> np.ndarray:
    """Row-normalised ``(target, source)`` weights of Gaussian spectral response functions.

    Target band ``i`` responds to source band ``j`` as ``exp(-(λ_j - c_i)² / 2σ_i²)`` with
    ``σ_i = fwhm_i / (2√(2 ln 2))``. Source bands flagged bad get no weight. A target band whose response
    has under 1 % of its area within the source range gets an all-zero row (its output is NaN).
    """
    src = np.asarray(source_wavelength, dtype=np.float64)
    centre = np.asarray(target_wavelength, dtype=np.float64)[:, None]
    sigma = np.asarray(target_fwhm, dtype=np.float64)[:, None] * FWHM_TO_SIGMA
    weights = np.exp(-0.5 * ((src[None, :] - centre) / sigma) ** 2)
    if source_good is not None:
        weights[:, ~np.asarray(source_good, dtype=bool)] = 0.0
    # area test: compare the sampled response with the Gaussian's full area at the source spacing
    spacing = np.gradient(src) if src.size > 1 else np.ones_like(src)
    covered = (weights * spacing[None, :]).sum(axis=1) / (sigma[:, 0] * np.sqrt(2 * np.pi))
    total = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    weights[covered < 0.01] = 0.0
    return weights
