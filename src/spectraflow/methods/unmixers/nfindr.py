"""N-FINDR: the pixels spanning the simplex of largest volume.

M. E. Winter, "N-FINDR: an algorithm for fast autonomous spectral end-member determination in
hyperspectral data," Proc. SPIE 3753, 1999. In the ``n - 1`` principal components, each endmember is in
turn replaced by the pixel that most enlarges the simplex (all pixels scored at once through the matrix
determinant lemma) until a full sweep changes nothing. Started from ATGP's pixels, or from random pixels
(``init: random``, seeded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import EndmemberExtractor
from ._geometry import principal_subspace
from .atgp import ATGP


@register("unmix", "nfindr")
@dataclass(frozen=True)
class NFINDR(EndmemberExtractor):
    name = "nfindr"
    init: str = "atgp"
    max_sweeps: int = 10

    def __post_init__(self) -> None:
        if self.init not in ("atgp", "random"):
            self._fail("init", self.init, "'atgp' or 'random'")

    def extract(self, y: np.ndarray, n: int) -> np.ndarray:
        mean, basis = principal_subspace(y, max(n - 1, 1))
        z = (y - mean) @ basis[:, : n - 1]
        lifted = np.column_stack([np.ones(len(y)), z]).T  # (n, pixel): columns [1, z]
        if self.init == "atgp":
            index = ATGP().extract(y, n)
        else:
            index = np.random.default_rng(self.seed).choice(len(y), size=n, replace=False)
        index = np.array(index)
        for _ in range(self.max_sweeps):
            changed = False
            for i in range(n):
                simplex = lifted[:, index]
                det = np.linalg.det(simplex)
                if abs(det) < 1e-300:
                    coefficients = np.linalg.lstsq(simplex, lifted, rcond=None)[0]
                    volumes = np.abs(coefficients[i])
                else:
                    # det(S with column i replaced by v) = det(S) * (S^-1 v)_i
                    volumes = np.abs(det * np.linalg.solve(simplex, lifted)[i])
                best = int(np.argmax(volumes))
                if volumes[best] > abs(det) * (1 + 1e-12) and best not in index:
                    index[i] = best
                    changed = True
            if not changed:
                break
        return index
