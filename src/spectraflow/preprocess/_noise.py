"""Noise estimation per band and signal-subspace identification (HySime), out of core.

The estimators work from the one-pass :class:`~spectraflow.preprocess.BandStatistics`:

``regression``
    Each band is predicted from all the others by least squares; the residual is the noise (the estimator
    of HySime, [1]_). The regression coefficients and the residual covariance follow from the band Gram
    matrix alone, so the pass that computes the Gram is the only pass.
``difference_regression``
    The same regression, of each band's horizontal neighbour differences on the other bands' (half the residual
    variance): the differences take out the smooth part of the signal, and the other bands what is left of it
    that they share, the two decorrelations of spectral–spatial estimators [3]_. Noise that is white in space
    and across bands is all that neither explains. The regression alone leaves in its estimate each band's own
    signal, the part the other bands do not share, so it over-estimates on a cube of few bands. On seven real scenes
    with Gaussian and non-i.i.d. noise added (``python benchmarks/denoise.py --noise-estimator``,
    ``benchmarks/results/denoise_noise_estimator.md``, the estimate over the added noise's σ):

    ============  ==========================  ==========================
    bands kept    ``regression``: mean; worst  this: mean; worst band
    ============  ==========================  ==========================
    all (156+)    0.996–1.007; up to 1.33      0.996–1.006; up to 1.18
    about 30      1.022–1.058; up to 1.97      1.001–1.030; up to 1.28
    about 10      1.053–1.578; up to 5.47      1.001–1.061; up to 1.37
    ============  ==========================  ==========================

    Its blind spot is noise correlated between horizontal neighbours (a resampled product's), which the
    differences partly cancel. On the shared real scenes as they are (no noise added) its median σ per scene is
    0.87–1.01 × the regression's (by hand, stop 77): the regression's residual there correlates 0.05–0.26 between
    neighbours, smooth signal left in it or noise correlated in space, which the two cannot tell apart.
``shift_difference``
    Half the variance of differences between horizontal neighbours (spatially smooth signal cancels) [2]_.

References
----------
.. [1] J. M. Bioucas-Dias and J. M. P. Nascimento, "Hyperspectral subspace identification," IEEE TGRS 46(8),
   2435-2445, 2008.
.. [2] A. A. Green, M. Berman, P. Switzer and M. D. Craig, "A transformation for ordering multispectral data
   in terms of image quality with implications for noise removal," IEEE TGRS 26(1), 65-74, 1988.
.. [3] L. Gao, Q. Du, B. Zhang, W. Yang and Y. Wu, "A comparative study on linear regression-based noise
   estimation for hyperspectral imagery," IEEE JSTARS 6(2), 488-498, 2013.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..errors import ConfigError
from ._stats import BandStatistics, band_statistics

__all__ = ["NOISE_METHODS", "noise_covariance", "estimate_noise", "HySime", "hysime", "quadratic_forms"]

NOISE_METHODS = ("regression", "difference_regression", "shift_difference")
NoiseMethod = Literal["regression", "difference_regression", "shift_difference"]


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


def _residual_covariance(gram: np.ndarray, count: int) -> np.ndarray:
    """The covariance of what least squares leaves of each variable regressed on the others, from their Gram."""
    residual = np.eye(gram.shape[0]) - _regression_matrix(gram)
    return residual.T @ gram @ residual / max(count, 1)


def noise_covariance(stats: BandStatistics, method: NoiseMethod = "regression") -> np.ndarray:
    """Noise covariance (band × band) from one-pass statistics."""
    _check_method(method)
    if method == "regression":
        if stats.gram is None:
            raise ValueError("band_statistics(..., gram=True) is needed for the regression estimator")
        return _residual_covariance(stats.gram, stats.count)
    if stats.diff_gram is None or stats.diff_count == 0:
        raise ValueError(f"band_statistics(..., shift_difference=True) is needed for the {method} estimator (and at "
                         "least 2 columns)")
    if method == "shift_difference":
        return stats.diff_gram / (2.0 * stats.diff_count)
    # a difference holds two pixels' noise; the residual's degrees of freedom are the pairs less the other bands
    pairs, bands = stats.diff_count, stats.diff_gram.shape[0]
    if pairs <= bands:
        raise ValueError(f"the {method} estimator needs more neighbour pairs than bands; got {pairs} pairs of "
                         f"{bands} bands")
    return _residual_covariance(stats.diff_gram, pairs) * pairs / (2.0 * (pairs - bands + 1))


def quadratic_forms(vectors: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``vᵀ M v`` for each column ``v`` of ``vectors``, through one matrix product (a three-operand ``einsum``
    loops in C without BLAS: 30 s a call at 2048 bands, an EELS spectrum's channels)."""
    return np.sum(vectors * (matrix @ vectors), axis=0)


def _statistics_for(cube: Any, method: str) -> BandStatistics:
    _check_method(method)
    return band_statistics(cube, gram=True, shift_difference=method != "regression")


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
    signal_power, noise_power = quadratic_forms(vectors, data_corr), quadratic_forms(vectors, noise)
    cost = -signal_power + 2.0 * noise_power
    k = max(1, int(np.count_nonzero(cost < 0)))
    keep = np.argsort(cost)[:k]
    keep.sort()
    return HySime(k=k, basis=vectors[:, keep], noise_std=np.sqrt(np.diag(noise)), eigenvalues=eigenvalues,
                  cost=cost)
