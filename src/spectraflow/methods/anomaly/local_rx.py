"""Local (dual-window) RX: the Mahalanobis distance of each pixel to the mean and covariance of the ring of
pixels around it, outside a guard window that keeps the target itself out of its background.

H. Kwon and N. M. Nasrabadi, *Kernel RX-algorithm*, IEEE TGRS 43(2), 2005 (the dual concentric windows);
computed in the leading principal components (a ring of ~200 pixels cannot estimate a covariance of 200
bands), with every window's sums from summed-area tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import WindowedDetector, box_sum


@register("anomaly", "local_rx")
@dataclass(frozen=True)
class LocalRX(WindowedDetector):
    """``ridge`` is added to the ring's covariance (the components have unit variance over the scene)."""

    name = "local_rx"
    inner: int = 11  # chosen on san_diego among 5/15, 7/21, 9/25, 11/31 (inner/outer)
    outer: int = 31
    ridge: float = 1e-2

    def score_window(self, pcs: np.ndarray) -> np.ndarray:
        valid = np.isfinite(pcs).all(axis=2)
        z = np.where(valid[..., None], pcs, 0.0)
        outer = [box_sum(a, self.outer) for a in (valid.astype(np.float64), z, z[..., :, None] * z[..., None, :])]
        inner = [box_sum(a, self.inner) for a in (valid.astype(np.float64), z, z[..., :, None] * z[..., None, :])]
        count, total, gram = (o - i for o, i in zip(outer, inner, strict=True))
        count = np.maximum(count, 1.0)
        mean = total / count[..., None]
        covariance = gram / count[..., None, None] - mean[..., :, None] * mean[..., None, :]
        covariance += self.ridge * np.eye(z.shape[2])
        centred = z - mean
        solved = np.linalg.solve(covariance, centred[..., None])[..., 0]
        return np.where(valid, np.einsum("...i,...i->...", centred, solved), np.nan)
