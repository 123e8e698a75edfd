"""MTF-matched generalized Laplacian pyramid (MTF-GLP) detail injection.

B. Aiazzi, L. Alparone, S. Baronti, A. Garzelli, M. Selva, *MTF-tailored multiscale fusion of high-resolution MS
and Pan imagery*, PE&RS 72(5), 2006. The guide's detail is what the sensor's MTF (a Gaussian with ``mtf_gain``
at Nyquist) removes: the guide minus its degraded-and-interpolated version. Each band receives the detail of
its own synthetic guide, the least-squares combination of the guide's bands that predicts the band at low
resolution (:func:`~._base.guide_regression`): for a panchromatic guide, the regression-gain injection; for a
multispectral one, hypersharpening (Selva et al., IEEE JSTSP 9(6), 2015).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import register
from ._base import DEFAULT_MTF_GAIN, Fuser, degrade, guide_regression, upsample


@register("fuse", "mtf_glp")
@dataclass(frozen=True)
class MTFGLP(Fuser):
    """Interpolated bands plus each band's guide detail (``mtf_gain``: the sensor MTF's gain at Nyquist)."""

    name = "mtf_glp"
    tiled = True
    mtf_gain: float = DEFAULT_MTF_GAIN

    def fit(self, hs: Any, guide: Any, ratio: int, srf: np.ndarray | None = None) -> np.ndarray:
        """Each band's synthetic guide: the regression of the band on the degraded guide's bands (with offset)."""
        return guide_regression(hs, degrade(guide, ratio, self.mtf_gain))

    def sharpen_window(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int, fitted: Any) -> np.ndarray:
        assert guide is not None
        # the detail the MTF removes from the guide (the guide minus its degraded-and-interpolated version), through
        # each band's regression weights (the offset cancels in the difference)
        detail = guide - upsample(degrade(guide, ratio, self.mtf_gain), ratio, guide.shape[:2])
        fused = upsample(hs, ratio, guide.shape[:2])
        fused += detail @ fitted[:-1]
        return fused
