"""Robust subspace denoising for mixed noise (stripes, dead lines, impulse over Gaussian): low rank + sparse.

Structured noise corrupts a few bands of each pixel's spectrum (and a few pixels of each band), so it is
an outlier for a least-squares subspace fit. Following the low-rank + sparse / ℓ1-fidelity idea of
L1HyMixDe [1]_, the whitened cube is factorised as ``Y ≈ Z Eᵀ + m`` under an ℓ1 loss by alternating
iteratively reweighted least squares: each pixel's coefficients ``z`` given the basis, then each band's
row of the basis and mean given the coefficients (a band that is mostly impulses is fitted on its clean
pixels only). The ``subspace`` eigen-images are then TV-denoised as in ``subspace_tv``. The per-band noise
σ is estimated robustly (median absolute deviation of horizontal differences).

References
----------
.. [1] L. Zhuang and M. K. Ng, "Hyperspectral mixed noise removal by ℓ1-norm-based subspace representation,"
   IEEE JSTARS 13, 1143-1157, 2020 (L1HyMixDe).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import Denoiser
from ._tv import tv_denoise


def robust_noise_std(cube: np.ndarray) -> np.ndarray:
    """Per-band σ from the median absolute deviation of horizontal neighbour differences."""
    d = (cube[:, 1:] - cube[:, :-1]).reshape(-1, cube.shape[2])
    return 1.4826 * np.median(np.abs(d - np.median(d, axis=0)), axis=0) / np.sqrt(2.0)


def l1_rows(design: np.ndarray, target: np.ndarray, start: np.ndarray, iterations: int,
            eps: float = 1e-2) -> np.ndarray:
    """Rows ``b`` minimising ``Σ |target_row − design @ b|`` by IRLS, all rows at once.

    ``design`` (m, k), ``target`` (n, m), ``start`` (n, k) → (n, k).
    """
    rows = start
    ridge = 1e-9 * np.eye(design.shape[1])
    for _ in range(iterations):
        weights = 1.0 / np.maximum(np.abs(target - rows @ design.T), eps)
        normal = np.einsum("mk,nm,ml->nkl", design, weights, design) + ridge
        rhs = np.einsum("mk,nm->nk", design, weights * target)
        rows = np.linalg.solve(normal, rhs[..., None])[..., 0]
    return rows


@register("denoise", "robust_subspace_tv")
@dataclass(frozen=True)
class RobustSubspaceTV(Denoiser):
    name = "robust_subspace_tv"
    subspace: int = 4
    weight: float = 0.7
    outer: int = 4
    irls: int = 6
    noise_std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.subspace < 1:
            self._fail("subspace", self.subspace, "a positive integer")
        if not self.weight > 0:
            self._fail("weight", self.weight, "a positive TV weight")
        if self.outer < 1 or self.irls < 1:
            self._fail("outer/irls", (self.outer, self.irls), "positive iteration counts")

    def restore(self, noisy: np.ndarray) -> np.ndarray:
        ny, nx, nb = noisy.shape
        k = min(self.subspace, nb)
        if self.noise_std is not None:
            sigma = np.asarray(self.noise_std, dtype=np.float64)
            if sigma.shape != (nb,):
                self._fail("noise_std", f"{sigma.size} values", f"{nb} (one per band)")
        else:
            sigma = robust_noise_std(noisy)
        sigma = np.maximum(sigma, 1e-6 * max(float(np.abs(noisy).max()), 1e-12))
        y = noisy.reshape(-1, nb) / sigma
        mean = np.median(y, axis=0)
        _, vectors = np.linalg.eigh(np.cov((y - mean).T))
        basis = np.column_stack([vectors[:, ::-1][:, :k], mean])  # (band, k + 1): last column the mean
        coefficients = np.column_stack([(y - mean) @ basis[:, :k], np.ones(len(y))])
        for _ in range(self.outer):
            z = l1_rows(basis[:, :k], y - basis[:, k], coefficients[:, :k], self.irls)
            coefficients = np.column_stack([z, np.ones(len(y))])
            basis = l1_rows(coefficients, y.T, basis, self.irls)
        orthonormal, triangular = np.linalg.qr(basis[:, :k])
        eigen_images = (coefficients[:, :k] @ triangular.T).T.reshape(k, ny, nx)
        restored = tv_denoise(eigen_images, self.weight)
        return ((restored.reshape(k, -1).T @ orthonormal.T + basis[:, k]) * sigma).reshape(noisy.shape)
