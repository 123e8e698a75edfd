"""FCLS: fully constrained least squares (non-negative abundances summing to one).

D. C. Heinz and C.-I Chang, "Fully constrained least squares linear spectral mixture analysis method for
material quantification in hyperspectral imagery," IEEE TGRS 39(3), 529-545, 2001. Solved exactly by
active-set enumeration (:func:`exact_least_squares`) up to ``max_exact`` endmembers, by ADMM beyond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import AbundanceEstimator
from ._solvers import admm_least_squares, exact_least_squares
from ._torch import run_on_device


@register("unmix", "fcls")
@dataclass(frozen=True)
class FCLS(AbundanceEstimator):
    name = "fcls"
    device: str = "auto"
    max_exact: int = 12

    def solve(self, y: np.ndarray, e: np.ndarray) -> np.ndarray:
        if e.shape[0] <= self.max_exact:
            return run_on_device(exact_least_squares, y, e, self.device, sum_to_one=True)
        return run_on_device(admm_least_squares, y, e, self.device, sum_to_one=True, tolerance=1e-8,
                             iterations=5000)
