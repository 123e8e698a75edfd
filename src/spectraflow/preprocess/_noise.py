"""Noise estimation per band and signal-subspace identification (HySime), out of core.

Both estimators work from the one-pass :class:`~spectraflow.preprocess.BandStatistics`:

``regression``
    Each band is predicted from all the others by least squares; the residual is the noise (the estimator
    of HySime, [1]_). The regression coefficients and the residual covariance follow from the band Gram
    matrix alone, so the pass that computes the Gram is the only pass.
``shift_difference``
    Half the variance of differences between horizontal neighbours (spatially smooth signal cancels) [2]_.

References
----------
.. [1] J. M. Bioucas-Dias and J. M. P. Nascimento, "Hyperspectral subspace identification," IEEE TGRS 46(8),
   2435-2445, 2008.
.. [2] A. A. Green, M. Berman, P. Switzer and M. D. Craig, "A transformation for ordering multispectral data
   in terms of image quality with implications for noise removal," IEEE TGRS 26(1), 65-74, 1988.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import ConfigError
from ._stats import BandStatistics, band_statistics

__all__ = ["NOISE_METHODS", "noise_covariance", "estimate_noise", "HySime", "hysime"]

NOISE_METHODS = ("regression", "shift_difference")
NoiseMethod = Literal["regression", "shift_difference"]


def _check_method(method: str) -> None:
    if method not in NOISE_METHODS:
        raise ConfigError(f"noise method {method!r}: expected one of {NOISE_METHODS}")


def _regression_matrix(gram: np.ndarray) -> np.ndarray:
    """``B`` with column ``i`` the coefficients predicting band ``i`` from the others (``B[i, i] = 0``)."""
    n_bands = gram.shape[0]
    ridge = 1e-10 * np.trace(gram) / n_bands
    inverse = np.linalg.inv(gram + ridge * np.eye(n_bands))
    # For the partitioned inverse, the coefficients of band i on the others are -inverse[:, i] / inverse[i, i]
    coefficients = -inverse / np.diag(inverse)[None, :]
    np.fill_diagonal(coefficients, 0.0)
    return coefficients


def noise_covariance(stats: BandStatistics, method: NoiseMethod = "regression") -> np.ndarray:
    """Noise covariance (band × band) from one-pass statistics."""
    _check_method(method)
    if method == "shift_difference":
        if stats.diff_gram is None or stats.diff_count == 0:
            raise ValueError("band_statistics(..., shift_difference=True) is needed (and at least 2 columns)")
        return stats.diff_gram / (2.0 * stats.diff_count)
    if stats.gram is None:
        raise ValueError("band_statistics(..., gram=True) is needed for the regression estimator")
    residual = np.eye(stats.gram.shape[0]) - _regression_matrix(stats.gram)
    return residual.T @ stats.gram @ residual / max(stats.count, 1)


def _statistics_for(cube: Any, method: str) -> BandStatistics:
    _check_method(method)
    return band_statistics(cube, gram=True, shift_difference=method == "shift_difference")


def estimate_noise(cube: Any, method: NoiseMethod = "regression") -> Any:
    """Noise standard deviation per band, an ``xarray.DataArray`` on ``band`` (NumPy for a bare array)."""
    sigma = np.sqrt(np.maximum(np.diag(noise_covariance(_statistics_for(cube, method), method)), 0.0))
    if hasattr(cube, "coords") and "band" in getattr(cube, "dims", ()):
        import xarray as xr

        return xr.DataArray(sigma, dims=("band",), coords=cube["band"].coords, name="noise_std",
                            attrs={"method": method})
    return sigma


@dataclass(frozen=True)
class HySime:
    """Result of :func:`hysime`: the signal subspace and what it was chosen from.

    ``basis`` is ``(band, k)`` (orthonormal columns, decreasing signal power), ``noise_std`` per band.
    """

    k: int
    basis: np.ndarray
    noise_std: np.ndarray
    eigenvalues: np.ndarray
    cost: np.ndarray


def hysime(cube: Any = None, *, stats: BandStatistics | None = None, method: NoiseMethod = "regression") -> HySime:
    """Signal-subspace dimension and basis by HySime [1]_ (minimum mean-squared projection error).

    The signal correlation is estimated as the data correlation minus the noise correlation; its
    eigenvectors are kept while the projected signal power exceeds twice the projected noise power.
    """
    if stats is None:
        stats = _statistics_for(cube, method)
    if stats.gram is None:
        raise ValueError("hysime needs band statistics with gram=True")
    n = max(stats.count, 1)
    data_corr = stats.gram / n
    noise = noise_covariance(stats, method)
    # HySime treats the noise as uncorrelated between bands; a floor keeps noise-free (or quantisation-only)
    # data from yielding zero or round-off-negative variances, which would make every direction "signal"
    floor = 1e-10 * float(np.trace(data_corr)) / data_corr.shape[0]
    noise = np.diag(np.maximum(np.diag(noise), floor))
    signal_corr = data_corr - noise
    signal_corr = (signal_corr + signal_corr.T) / 2
    eigenvalues, vectors = np.linalg.eigh(signal_corr)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    signal_power = np.einsum("bi,bc,ci->i", vectors, data_corr, vectors)
    noise_power = np.einsum("bi,bc,ci->i", vectors, noise, vectors)
    cost = -signal_power + 2.0 * noise_power
    k = int(max(1, np.sum(cost < 0)))
    keep = np.argsort(cost)[:k]
    keep.sort()
    return HySime(k=k, basis=vectors[:, keep], noise_std=np.sqrt(np.diag(noise)), eigenvalues=eigenvalues,
                  cost=cost)
