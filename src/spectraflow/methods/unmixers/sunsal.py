"""SUnSAL: sparse unmixing by variable splitting and augmented Lagrangian (ADMM), batched over pixels.

J. M. Bioucas-Dias and M. A. T. Figueiredo, "Alternating direction algorithms for constrained sparse
regression: application to hyperspectral unmixing," WHISPERS 2010. ``sparsity`` is λ of the ℓ1 term;
``sum_to_one`` adds the abundance sum-to-one constraint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import register
from ._base import AbundanceEstimator
from ._solvers import admm_least_squares
from ._torch import run_on_device


@register("unmix", "sunsal")
@dataclass(frozen=True)
class SUnSAL(AbundanceEstimator):
    name = "sunsal"
    sparsity: float = 1e-3
    sum_to_one: bool = False
    iterations: int = 1000
    tolerance: float = 1e-6
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.sparsity < 0:
            self._fail("sparsity", self.sparsity, "a non-negative number (λ of the ℓ1 term)")
        if self.iterations < 1:
            self._fail("iterations", self.iterations, "a positive integer")

    def solve(self, y: np.ndarray, e: np.ndarray) -> np.ndarray:
        return run_on_device(admm_least_squares, y, e, self.device, sparsity=self.sparsity,
                             sum_to_one=self.sum_to_one, iterations=self.iterations, tolerance=self.tolerance)
