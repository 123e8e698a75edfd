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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import register
from ..denoisers._tv import divergence, gradient
from ._base import DEFAULT_MTF_GAIN, Fuser, _with_intercept, blur, degrade, mtf_sigma, upsample


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
        if radius > n:
            raise ValueError(f"a blur radius of {radius} pixels needs an image of at least that size, got {n}")
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


@register("fuse", "subspace")
@dataclass(frozen=True)
class SubspaceFusion(Fuser):
    """Convex fusion in a ``rank``-dimensional spectral subspace with vector-TV regularisation."""

    name = "subspace"
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

    def sharpen(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int,
                srf: np.ndarray | None = None) -> np.ndarray:
        assert guide is not None
        guide = guide if guide.ndim == 3 else guide[:, :, None]
        rank = min(self.rank, hs.shape[2])
        _, _, vt = np.linalg.svd(hs.reshape(-1, hs.shape[2]), full_matrices=False)
        basis = vt[:rank].T                                        # (band, rank), orthonormal columns
        coefficients_low = hs @ basis                              # (y, x, rank)
        if srf is None:
            guide_low = degrade(guide, ratio, self.mtf_gain).reshape(-1, guide.shape[2])
            fit, *_ = np.linalg.lstsq(_with_intercept(coefficients_low), guide_low,
                                      rcond=None)
            response, offset = fit[:rank].T, fit[rank]             # (guide band, rank), (guide band,)
        else:
            response, offset = srf @ basis, np.zeros(guide.shape[2])
        target = guide - offset
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
