"""NNLS: non-negative least squares abundances (no sum-to-one), exact by active-set enumeration.

C. L. Lawson and R. J. Hanson, *Solving Least Squares Problems*, Prentice-Hall, 1974 (the problem); solved
here by enumerating supports, vectorised over pixels (ADMM beyond ``max_exact`` endmembers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import register
from ._base import AbundanceEstimator
from ._solvers import admm_least_squares, exact_least_squares
from ._torch import run_on_device


@register("unmix", "nnls")
@dataclass(frozen=True)
class NNLS(AbundanceEstimator):
    """Non-negative least squares; ``fcls`` is the same solver with ``sum_to_one``."""

    name = "nnls"
    sum_to_one: ClassVar[bool] = False
    device: str = "auto"
    max_exact: int = 12

    def solve(self, y: np.ndarray, e: np.ndarray) -> np.ndarray:
        if e.shape[0] <= self.max_exact:
            return run_on_device(exact_least_squares, y, e, self.device, sum_to_one=self.sum_to_one)
        return run_on_device(admm_least_squares, y, e, self.device, sum_to_one=self.sum_to_one, tolerance=1e-8,
                             iterations=5000)
