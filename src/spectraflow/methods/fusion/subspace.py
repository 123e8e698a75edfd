"""Subspace-regularised convex fusion (HySure class).

M. Simões, J. Bioucas-Dias, L. Almeida, J. Chanussot, *A convex formulation for hyperspectral image
superresolution via subspace-based regularization*, IEEE TGRS 53(6), 2015. The fine image is ``Z = X Eᵀ``:
``E`` the ``rank`` leading right singular vectors of the hyperspectral pixels, ``X`` the ``(Y, X, rank)``
coefficient images, found by minimising

    ½ ‖S B X − Yₕ E‖² + (guide_weight / 2) ‖X Qᵀ + c − Yₘ‖² + smoothness · Σ_pixels ‖∇X‖

with ``B`` the MTF blur and ``S`` the decimation of the protocol's sensor model (:mod:`._base`), ``Yₘ`` the
guide (pan or multispectral) and ``Q = R E`` its response to the subspace. Where the spectral responses ``R``
are not given, ``Q`` and the offset ``c`` are estimated from the data: the degraded guide regressed on the
hyperspectral coefficients (the two sensors' radiometry need not agree). The vector total variation (one norm
over the ``rank`` gradients of a pixel, as HySure's) is minimised by iteratively reweighted least squares:
``reweightings`` quadratic majorisers, each solved by conjugate gradients (the operator is symmetric: the
blur's adjoint folds the reflected border back).

The subspace and the guide's response come from sums of products over the low-resolution pair (one pass), so a
lazy pair is fused tile by tile (:class:`~._base.Fuser`'s ``tiled`` path): each tile solved with ``halo`` coarse
pixels of its neighbours around it, which the solution's dependence on far pixels decays within (the seams are
measured in ``tests/fusion/test_methods.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import register
from ..denoisers._tv import divergence, gradient
from ._base import DEFAULT_MTF_GAIN, Fuser, blur, degrade, moments, mtf_sigma, upsample


def _blur_adjoint(image: np.ndarray, ratio: int, gain: float) -> np.ndarray:
    """Adjoint of :func:`~._base.blur` (Gaussian with reflected edges) on ``(Y, X, k)``."""
    from scipy.ndimage import correlate1d

    sigma = mtf_sigma(ratio, gain)
    radius = int(4.0 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = image
    for axis in (0, 1):
        n = out.shape[axis]
        if radius > n:  # an axis shorter than the blur's reach (a line scan's): the blur's matrix along it, transposed
            matrix = correlate1d(np.eye(n), taps, axis=0, mode="reflect")
            out = np.moveaxis(np.tensordot(matrix.T, np.moveaxis(out, axis, 0), axes=1), 0, axis)
            continue
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in range(out.ndim)])
        spread = np.moveaxis(correlate1d(padded, taps, axis=axis, mode="constant"), axis, 0)
        folded = spread[radius:radius + n].copy()
        folded[:radius] += spread[:radius][::-1]
        folded[n - radius:] += spread[radius + n:][::-1]
        out = np.moveaxis(folded, 0, axis)
    return out


def _smoothing(v: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``Dᵀ W D v`` of ``v`` ``(Y, X, k)``: the gradient (Neumann) weighted per pixel, and its adjoint."""
    gx, gy = gradient(np.moveaxis(v, 2, 0))
    return np.moveaxis(-divergence(weights * gx, weights * gy), 0, 2)


def _tv_weights(v: np.ndarray, epsilon: float) -> np.ndarray:
    """The vector-TV majoriser's weights at ``v``: 1 / the norm of each pixel's gradient over the ``k`` images."""
    gx, gy = gradient(np.moveaxis(v, 2, 0))
    return 1.0 / np.maximum(np.sqrt((gx**2 + gy**2).sum(axis=0)), epsilon)


def _conjugate_gradients(apply: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray, start: np.ndarray,
                         iterations: int, tolerance: float = 1e-6) -> np.ndarray:
    x = start.copy()
    residual = rhs - apply(x)
    direction = residual.copy()
    norm = float((residual * residual).sum())
    target = tolerance**2 * float((rhs * rhs).sum())
    for _ in range(iterations):
        if norm <= target:
            break
        applied = apply(direction)
        step = norm / float((direction * applied).sum())
        x += step * direction
        residual -= step * applied
        new_norm = float((residual * residual).sum())
        direction = residual + (new_norm / norm) * direction
        norm = new_norm
    return x


@dataclass(frozen=True)
class Subspace:
    """What the fusion needs of the whole scene: the subspace's basis ``(band, rank)``, the guide's response to
    it ``(guide band, rank)`` and offset ``(guide band,)``."""

    basis: np.ndarray
    response: np.ndarray
    offset: np.ndarray


@register("fuse", "subspace")
@dataclass(frozen=True)
class SubspaceFusion(Fuser):
    """Convex fusion in a ``rank``-dimensional spectral subspace with vector-TV regularisation."""

    name = "subspace"
    tiled = True
    bytes_per_voxel = 48.0
    mtf_gain: float = DEFAULT_MTF_GAIN
    rank: int = 10
    guide_weight: float = 1.0
    smoothness: float = 1e-4
    reweightings: int = 4
    iterations: int = 60
    epsilon: float = 1e-3

    def __post_init__(self) -> None:
        if not (isinstance(self.rank, int) and self.rank >= 1):
            self._fail("rank", self.rank, "a positive integer")
        for field in ("guide_weight", "smoothness", "epsilon"):
            if not getattr(self, field) > 0:
                self._fail(field, getattr(self, field), "a positive number")
        if not (isinstance(self.reweightings, int) and self.reweightings >= 0):
            self._fail("reweightings", self.reweightings, "a non-negative integer")
        if not (isinstance(self.iterations, int) and self.iterations >= 1):
            self._fail("iterations", self.iterations, "a positive integer")

    def fit(self, hs: Any, guide: Any, ratio: int, srf: np.ndarray | None = None) -> Subspace:
        """One pass over the low-resolution pair: the subspace (the leading eigenvectors of the pixels' second
        moments, the right singular vectors of the pixel matrix) and, without ``srf``, the guide's response to it
        (least squares of the degraded guide on the coefficients, from the same sums)."""
        import dask.array as da

        lazy = isinstance(hs, da.Array) or isinstance(guide, da.Array)
        xp = da if lazy else np
        n_bands, n_guide = hs.shape[2], guide.shape[2]
        parts = [xp.asarray(hs, dtype=np.float64)] + ([degrade(guide, ratio, self.mtf_gain)] if srf is None else [])
        sums = moments(xp.concatenate(parts, axis=2), xp)
        sums = np.asarray(sums.compute() if lazy else sums)
        self._check_finite(sums[-1], "hs or guide")  # (a non-finite value spoils its sums)
        rank = min(self.rank, n_bands)
        _, vectors = np.linalg.eigh(sums[:n_bands, :n_bands])
        basis = vectors[:, ::-1][:, :rank]                         # (band, rank), orthonormal columns
        if srf is not None:
            return Subspace(basis, srf @ basis, np.zeros(n_guide))
        # the normal equations of [coefficients, 1] → degraded guide
        project = np.zeros((n_bands + n_guide + 1, rank + n_guide + 1))
        project[:n_bands, :rank] = basis
        project[n_bands:, rank:] = np.eye(n_guide + 1)
        normal = project.T @ sums @ project                        # sums of [coefficients, guide, 1] products
        design = np.r_[np.arange(rank), rank + n_guide]
        solution = np.linalg.lstsq(normal[np.ix_(design, design)], normal[design, rank:rank + n_guide], rcond=None)[0]
        return Subspace(basis, solution[:rank].T, solution[rank])

    def sharpen_window(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int, fitted: Subspace) -> np.ndarray:
        assert guide is not None
        basis, response = fitted.basis, fitted.response
        rank = basis.shape[1]
        coefficients_low = np.asarray(hs, dtype=np.float64) @ basis  # (y, x, rank)
        target = guide - fitted.offset
        start = ratio // 2
        shape = guide.shape[:2] + (rank,)

        def observe_adjoint(low: np.ndarray) -> np.ndarray:
            spread = np.zeros(shape)
            spread[start::ratio, start::ratio] = low
            return _blur_adjoint(spread, ratio, self.mtf_gain)

        gram = response.T @ response
        rhs_data = observe_adjoint(coefficients_low) + self.guide_weight * (target @ response)
        x = upsample(coefficients_low, ratio, guide.shape[:2])
        for _ in range(self.reweightings + 1):
            weights = _tv_weights(x, self.epsilon)

            def apply(v: np.ndarray, weights: np.ndarray = weights) -> np.ndarray:
                observed = blur(v, ratio, self.mtf_gain)[start::ratio, start::ratio]
                return (observe_adjoint(observed) + self.guide_weight * (v @ gram)
                        + self.smoothness * _smoothing(v, weights))

            x = _conjugate_gradients(apply, rhs_data, x, self.iterations)
        return x @ basis.T
