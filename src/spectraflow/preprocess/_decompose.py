"""Linear spectral transforms fitted out of core: PCA and MNF, with their inverses.

Both are fitted from one pass of :func:`band_statistics` (the mean and the band Gram matrix, plus the
neighbour-difference Gram for MNF's noise) and stored as a :class:`Projection`:
``components = (spectrum - mean) @ forward`` and ``spectrum ≈ mean + components @ inverse``.

MNF (maximum noise fraction, [1]_) whitens the noise before the PCA, so components are ordered by
signal-to-noise ratio rather than by variance.

References
----------
.. [1] A. A. Green, M. Berman, P. Switzer and M. D. Craig, "A transformation for ordering multispectral data
   in terms of image quality with implications for noise removal," IEEE TGRS 26(1), 65-74, 1988.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ._noise import NoiseMethod, noise_covariance
from ._stats import band_statistics

__all__ = ["Projection", "fit_pca", "fit_mnf"]


@dataclass(frozen=True)
class Projection:
    """A fitted linear transform: ``mean`` (band), ``forward`` (band × k), ``inverse`` (k × band).

    ``ranking`` is what orders the components: explained variance (PCA) or SNR + 1 (MNF eigenvalues).
    """

    method: str
    mean: np.ndarray
    forward: np.ndarray
    inverse: np.ndarray
    ranking: np.ndarray

    @property
    def n_components(self) -> int:
        return int(self.forward.shape[1])

    def transform(self, spectra: np.ndarray) -> np.ndarray:
        dtype = spectra.dtype
        return ((spectra - self.mean.astype(dtype)) @ self.forward.astype(dtype)).astype(dtype, copy=False)

    def reconstruct(self, components: np.ndarray) -> np.ndarray:
        dtype = components.dtype
        return (components @ self.inverse.astype(dtype) + self.mean.astype(dtype)).astype(dtype, copy=False)

    def to_record(self) -> dict[str, Any]:
        return {"method": self.method, "mean": self.mean.tolist(), "forward": self.forward.tolist(),
                "inverse": self.inverse.tolist(), "ranking": self.ranking.tolist()}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Projection:
        return cls(record["method"], *(np.asarray(record[k]) for k in ("mean", "forward", "inverse", "ranking")))


def _check_components(n_components: int, n_bands: int) -> None:
    if not 1 <= n_components <= n_bands:
        raise ConfigError(f"n_components={n_components}: expected 1..{n_bands} (the number of bands)")


def fit_pca(cube: Any, n_components: int) -> Projection:
    """Principal components of the spectra (eigenvectors of the band covariance, by decreasing variance)."""
    stats = band_statistics(cube, gram=True)
    _check_components(n_components, stats.total.size)
    variance, vectors = np.linalg.eigh(stats.covariance())
    order = np.argsort(variance)[::-1][:n_components]
    vectors = vectors[:, order]
    vectors *= np.where(vectors.sum(axis=0) < 0, -1.0, 1.0)  # a fixed sign, so refits agree
    return Projection("pca", stats.mean, vectors, vectors.T.copy(), variance[order])


def fit_mnf(cube: Any, n_components: int, noise: NoiseMethod = "shift_difference") -> Projection:
    """Maximum noise fraction: solve ``C v = λ N v`` (``C`` data, ``N`` noise covariance), largest λ first.

    ``forward`` holds the first ``n_components`` eigenvectors scaled to unit noise variance; ``inverse`` the
    matching rows of the inverse of the full eigenvector matrix, so reconstruction from all components is
    exact and from fewer is the MNF-filtered cube.
    """
    from scipy.linalg import eigh

    stats = band_statistics(cube, gram=True, shift_difference=noise != "regression")
    n_bands = stats.total.size
    _check_components(n_components, n_bands)
    covariance = stats.covariance()
    noise_cov = noise_covariance(stats, noise)
    noise_cov = noise_cov + 1e-9 * np.trace(noise_cov) / n_bands * np.eye(n_bands)  # keep it definite
    snr, vectors = eigh(covariance, noise_cov)
    order = np.argsort(snr)[::-1]
    snr, vectors = snr[order], vectors[:, order]
    vectors *= np.where(vectors.sum(axis=0) < 0, -1.0, 1.0)
    inverse = np.linalg.inv(vectors)
    return Projection("mnf", stats.mean, vectors[:, :n_components], inverse[:n_components], snr[:n_components])
