"""Gram–Schmidt adaptive (GSA) component substitution.

B. Aiazzi, S. Baronti, M. Selva, *Improving component substitution pansharpening through multivariate
regression of MS+Pan data*, IEEE TGRS 45(10), 2007. The intensity is the combination of the interpolated bands
(weights and offset by least squares against the degraded guide); the guide, matched to the intensity's mean
and spread, replaces it, each band receiving ``cov(band, I) / var(I)`` of the difference. A multispectral guide:
each hyperspectral band is sharpened by the guide band it correlates with best at low resolution (the
band-grouping extension of the HS–MS fusion review, Yokoya et al., IEEE GRSM 5(2), 2017).

Every scene-wide quantity (the weights, the means and spreads, the gains) comes from sums of products, so a lazy
pair is fitted in two passes (the low-resolution pair; the interpolated bands and the guide on the fine grid,
tile by tile) and fused tile by tile (:class:`~._base.Fuser`'s ``tiled`` path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import register
from ._base import DEFAULT_MTF_GAIN, Fuser, degrade, moments, upsample


@dataclass(frozen=True)
class Substitution:
    """What GSA needs of the whole scene, per guide band ``m`` (its group: the bands that follow it): the
    intensity's weights ``(band, m)`` (zero outside the group) and offset, the intensity's and the guide's mean
    and spread on the fine grid, each band's group and gain."""

    weights: np.ndarray
    offset: np.ndarray
    intensity_mean: np.ndarray
    intensity_std: np.ndarray
    guide_mean: np.ndarray
    guide_std: np.ndarray
    group: np.ndarray
    gains: np.ndarray


def _covariance(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and (population) covariance from :func:`~._base.moments`."""
    count = sums[-1, -1]
    mean = sums[:-1, -1] / count
    return mean, sums[:-1, :-1] / count - np.outer(mean, mean)


@register("fuse", "gsa")
@dataclass(frozen=True)
class GSA(Fuser):
    """Gram–Schmidt adaptive component substitution (``mtf_gain`` degrades the guide for the weights' fit)."""

    name = "gsa"
    tiled = True
    mtf_gain: float = DEFAULT_MTF_GAIN

    def fit(self, hs: Any, guide: Any, ratio: int, srf: np.ndarray | None = None) -> Substitution:
        """Two passes over the pair: at low resolution, the bands' and degraded guide's moments (each band's
        group, the intensity's weights); on the fine grid, the interpolated bands' and the guide's."""
        import dask
        import dask.array as da

        lazy = isinstance(hs, da.Array) or isinstance(guide, da.Array)
        xp = da if lazy else np
        n_bands, n_guide = hs.shape[2], guide.shape[2]
        low = moments(xp.concatenate([xp.asarray(hs, dtype=np.float64), degrade(guide, ratio, self.mtf_gain)],
                                      axis=2), xp)
        interpolated = (self.fine_tiles(lambda window, guide_window: upsample(window, ratio, guide_window.shape[:2]),
                                        hs, guide, ratio) if lazy else upsample(hs, ratio, guide.shape[:2]))
        fine = moments(xp.concatenate([xp.asarray(interpolated, dtype=np.float64),
                                        xp.asarray(guide, dtype=np.float64)], axis=2), xp)
        low, fine = dask.compute(low, fine) if lazy else (low, fine)
        self._check_finite(np.stack([low[-1], fine[-1]]), "hs or guide")  # (a non-finite value spoils its sums)
        _, low_cov = _covariance(low)
        spread = np.sqrt(np.maximum(np.diag(low_cov), 0))
        # the guide band each band follows: the best correlated one at low resolution
        correlation = low_cov[:n_bands, n_bands:] / np.maximum(np.outer(spread[:n_bands], spread[n_bands:]), 1e-30)
        group = np.argmax(correlation, axis=1)
        fine_mean, fine_cov = _covariance(fine)
        weights, offset = np.zeros((n_bands, n_guide)), np.zeros(n_guide)
        gains = np.zeros(n_bands)
        intensity_mean, intensity_std = np.zeros(n_guide), np.ones(n_guide)
        for m in np.unique(group):
            bands = np.flatnonzero(group == m)
            # the intensity: the least-squares combination of the group's bands (and an offset) that predicts the
            # degraded guide band, from the normal equations of the low-resolution moments
            rows = np.append(bands, n_bands + n_guide)
            solution = np.linalg.lstsq(low[np.ix_(rows, rows)], low[rows, n_bands + m], rcond=None)[0]
            weights[bands, m], offset[m] = solution[:-1], solution[-1]
            # its mean and spread on the fine grid, and each band's covariance with it over its variance
            covariance = fine_cov[np.ix_(bands, bands)] @ solution[:-1]
            variance = float(solution[:-1] @ covariance)
            intensity_mean[m] = fine_mean[bands] @ solution[:-1] + offset[m]
            intensity_std[m] = np.sqrt(max(variance, 0.0))
            gains[bands] = covariance / max(variance, 1e-30)
        guide_std = np.sqrt(np.maximum(np.diag(fine_cov)[n_bands:], 0))
        return Substitution(weights, offset, intensity_mean, intensity_std, fine_mean[n_bands:], guide_std, group,
                            gains)

    def sharpen_window(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int, fitted: Substitution
                       ) -> np.ndarray:
        assert guide is not None
        interpolated = upsample(hs, ratio, guide.shape[:2])
        intensity = interpolated @ fitted.weights + fitted.offset
        # the guide matched to the intensity's mean and spread replaces it
        matched = ((guide - fitted.guide_mean) * (fitted.intensity_std / np.maximum(fitted.guide_std, 1e-30))
                   + fitted.intensity_mean)
        return interpolated + fitted.gains * (matched - intensity)[:, :, fitted.group]
