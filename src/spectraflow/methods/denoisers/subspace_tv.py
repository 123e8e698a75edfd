"""Subspace denoising of the FastHyDe class: noise whitening, a low-rank signal subspace, TV on eigen-images.

The spectra of a hyperspectral image live close to a low-dimensional subspace, so the cube is written as
``Y = E Z + noise`` with ``E`` (band × k) orthonormal and ``Z`` the k eigen-images; denoising the few
eigen-images instead of every band removes most of the noise by the projection alone [1]_. Here:

1. the per-band noise σ is estimated (HySime's regression estimator) and the bands are whitened by it, so
   non-i.i.d. noise becomes i.i.d. with unit variance;
2. ``E`` holds the first ``k`` principal directions of the whitened data (``subspace``: an integer, or
   ``None`` for HySime's estimate, never below ``min_subspace`` — HySime underestimates at strong noise);
3. each eigen-image (unit noise variance by construction) is denoised by total variation [2]_ with weight
   ``weight``, and the cube is reconstructed and un-whitened.

References
----------
.. [1] L. Zhuang and J. M. Bioucas-Dias, "Fast hyperspectral image denoising and inpainting based on low-rank
   and sparse representations," IEEE JSTARS 11(3), 730-742, 2018 (FastHyDe).
.. [2] A. Chambolle, "An algorithm for total variation minimization and applications," JMIV 20, 2004.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import Denoiser
from ._tv import tv_denoise


@register("denoise", "subspace_tv")
@dataclass(frozen=True)
class SubspaceTV(Denoiser):
    name = "subspace_tv"
    subspace: int | None = None
    min_subspace: int = 4
    weight: float = 0.7
    iterations: int = 100
    noise_std: tuple[float, ...] | None = None  # per band, in the cube's units; estimated when None

    def __post_init__(self) -> None:
        if self.subspace is not None and self.subspace < 1:
            self._fail("subspace", self.subspace, "a positive integer or null (HySime)")
        if not self.weight > 0:
            self._fail("weight", self.weight, "a positive TV weight (eigen-images have unit noise)")

    def restore(self, noisy: np.ndarray) -> np.ndarray:
        from ...preprocess import hysime

        ny, nx, nb = noisy.shape
        y = noisy.reshape(-1, nb)
        if self.noise_std is not None:
            sigma = np.asarray(self.noise_std, dtype=np.float64)
            if sigma.shape != (nb,):
                self._fail("noise_std", f"{sigma.size} values", f"{nb} (one per band)")
        else:
            sigma = hysime(noisy).noise_std
        sigma = np.maximum(sigma, 1e-6 * max(float(np.abs(y).max()), 1e-12))
        white = y / sigma
        mean = white.mean(axis=0)
        centred = white - mean
        k = self.subspace or max(hysime(white.reshape(noisy.shape)).k, self.min_subspace)
        k = min(k, nb)
        _, vectors = np.linalg.eigh(centred.T @ centred / len(centred))
        basis = vectors[:, ::-1][:, :k]
        eigen_images = (centred @ basis).T.reshape(k, ny, nx)
        restored = tv_denoise(eigen_images, self.weight, self.iterations)
        out = (restored.reshape(k, -1).T @ basis.T + mean) * sigma
        return out.reshape(noisy.shape)
