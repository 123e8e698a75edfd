"""Collaborative-representation detector (CRD): each pixel is approximated by a weighted combination of the
pixels in the ring around it; a background pixel is represented well, an anomaly is not.

W. Li and Q. Du, *Collaborative representation for hyperspectral anomaly detection*, IEEE TGRS 53(3), 2015.
The ring's pixels ``X`` (outside a guard window) and the pixel ``y`` give the coefficients
``α = (X Xᵀ + λ Γ²)⁻¹ X y`` with ``Γ = diag(‖y − xᵢ‖)`` (ring pixels unlike ``y`` are penalised), and the score is
``‖y − Xᵀ α‖``. Computed in whitened leading principal components, in batches of pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import WindowedDetector


@register("anomaly", "crd")
@dataclass(frozen=True)
class CRD(WindowedDetector):
    name = "crd"
    components: int = 20
    regularization: float = 1e-2
    batch: int = 512  # pixels solved together (memory: batch × ring² × 8 bytes)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.regularization > 0:
            self._fail("regularization", self.regularization, "a positive λ")

    def score_window(self, pcs: np.ndarray) -> np.ndarray:
        height, width, d = pcs.shape
        valid = np.isfinite(pcs).all(axis=2)
        r_out, r_in = self.outer // 2, self.inner // 2
        offsets = [(dy, dx) for dy in range(-r_out, r_out + 1) for dx in range(-r_out, r_out + 1)
                   if max(abs(dy), abs(dx)) > r_in]
        padded = np.pad(np.where(valid[..., None], pcs, np.nan), [(r_out, r_out), (r_out, r_out), (0, 0)],
                        constant_values=np.nan)
        ys, xs = np.nonzero(valid)
        scores = np.full((height, width), np.nan)
        dy, dx = (np.array(v) for v in zip(*offsets, strict=True))
        for start in range(0, ys.size, self.batch):
            py, px = ys[start:start + self.batch], xs[start:start + self.batch]
            ring = padded[py[:, None] + r_out + dy, px[:, None] + r_out + dx]  # (pixels, m, d)
            present = np.isfinite(ring).all(axis=2)
            ring = np.where(present[..., None], ring, 0.0)
            y = pcs[py, px]
            distance = np.where(present, ((ring - y[:, None, :]) ** 2).sum(axis=2), 0.0)
            gram = ring @ ring.transpose(0, 2, 1)
            # ring positions outside the image (or nodata) get a unit diagonal and no data: α there is 0
            penalty = self.regularization * distance + (~present)
            gram[:, np.arange(len(offsets)), np.arange(len(offsets))] += penalty
            alpha = np.linalg.solve(gram, (ring @ y[..., None]))
            residual = y - (ring.transpose(0, 2, 1) @ alpha)[..., 0]
            scores[py, px] = np.sqrt((residual ** 2).sum(axis=1))
        return scores
