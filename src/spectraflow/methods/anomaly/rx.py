"""Global Reed–Xiaoli (RX): the Mahalanobis distance of each pixel to the scene's mean and covariance.

I. S. Reed and X. Yu, *Adaptive multiple-band CFAR detection of an optical pattern with unknown spectral
distribution*, IEEE TASSP 38(10), 1990. The mean and covariance come from one streaming pass over the cube;
the scores are computed block by block, so the cube may be larger than memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import register
from ._base import Detector, principal_components


@register("anomaly", "rx")
@dataclass(frozen=True)
class RX(Detector):
    """``ridge`` is added to the covariance's eigenvalues, relative to the largest (a singular covariance,
    e.g. duplicated bands, stays invertible)."""

    name = "rx"
    ridge: float = 1e-9

    def __post_init__(self) -> None:
        if not self.ridge >= 0:
            self._fail("ridge", self.ridge, "a non-negative relative regularisation")

    def score(self, cube: Any) -> Any:
        # the squared norm of the whitened pixel; lazy and block by block for a lazy cube
        return (principal_components(cube, ridge=self.ridge) ** 2).sum(axis=2)
