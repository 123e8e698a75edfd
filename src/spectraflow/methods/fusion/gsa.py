"""Gram–Schmidt adaptive (GSA) component substitution.

B. Aiazzi, S. Baronti, M. Selva, *Improving component substitution pansharpening through multivariate
regression of MS+Pan data*, IEEE TGRS 45(10), 2007. The intensity is the combination of the interpolated bands
(weights and offset by least squares against the degraded guide); the guide, matched to the intensity's mean
and spread, replaces it, each band receiving ``cov(band, I) / var(I)`` of the difference. A multispectral guide:
each hyperspectral band is sharpened by the guide band it correlates with best at low resolution (the
band-grouping extension of the HS–MS fusion review, Yokoya et al., IEEE GRSM 5(2), 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import DEFAULT_MTF_GAIN, Fuser, _with_intercept, degrade, upsample


def _substitute(interpolated: np.ndarray, low: np.ndarray, pan: np.ndarray, pan_low: np.ndarray) -> np.ndarray:
    """GSA of one group of bands: ``interpolated`` (Y, X, k) and ``low`` (y, x, k) by the guide ``pan``."""
    weights, *_ = np.linalg.lstsq(_with_intercept(low), pan_low.ravel(), rcond=None)
    intensity = interpolated @ weights[:-1] + weights[-1]
    matched = (pan - pan.mean()) * (intensity.std() / max(pan.std(), 1e-30)) + intensity.mean()
    centred = intensity - intensity.mean()
    gains = np.tensordot(interpolated - interpolated.mean(axis=(0, 1)), centred, axes=([0, 1], [0, 1]))
    gains /= max(float((centred**2).sum()), 1e-30)
    return interpolated + gains * (matched - intensity)[:, :, None]


@register("fuse", "gsa")
@dataclass(frozen=True)
class GSA(Fuser):
    """Gram–Schmidt adaptive component substitution (``mtf_gain`` degrades the guide for the weights' fit)."""

    name = "gsa"
    mtf_gain: float = DEFAULT_MTF_GAIN

    def sharpen(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int,
                srf: np.ndarray | None = None) -> np.ndarray:
        assert guide is not None
        guide = guide if guide.ndim == 3 else guide[:, :, None]
        interpolated = upsample(hs, ratio, guide.shape[:2])
        guide_low = degrade(guide, ratio, self.mtf_gain)
        # the guide band each hyperspectral band follows: the best correlated one at low resolution
        h = hs.reshape(-1, hs.shape[2])
        g = guide_low.reshape(-1, guide.shape[2])
        h, g = (h - h.mean(0)) / np.maximum(h.std(0), 1e-30), (g - g.mean(0)) / np.maximum(g.std(0), 1e-30)
        group = np.argmax(g.T @ h, axis=0)
        fused = np.empty_like(interpolated)
        for m in np.unique(group):
            bands = group == m
            fused[:, :, bands] = _substitute(interpolated[:, :, bands], hs[:, :, bands], guide[:, :, m],
                                             guide_low[:, :, m])
        return fused
