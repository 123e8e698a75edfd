"""ATGP: automatic target generation process (orthogonal subspace projection).

H. Ren and C.-I Chang, "Automatic spectral target recognition in hyperspectral imagery," IEEE TAES 39(4),
1232-1249, 2003. The first target is the brightest pixel; each next one the pixel with the largest residual
after projecting out the targets found so far. Deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import EndmemberExtractor


@register("unmix", "atgp")
@dataclass(frozen=True)
class ATGP(EndmemberExtractor):
    name = "atgp"

    def extract(self, y: np.ndarray, n: int) -> np.ndarray:
        index = [int(np.argmax((y**2).sum(axis=1)))]
        for _ in range(1, n):
            u = y[index].T  # (band, k)
            q, _ = np.linalg.qr(u)
            residual = y - (y @ q) @ q.T
            norms = (residual**2).sum(axis=1)
            norms[index] = -1.0
            index.append(int(np.argmax(norms)))
        return np.asarray(index)
