"""Global Reed–Xiaoli (RX): the Mahalanobis distance of each pixel to the scene's mean and covariance.

I. S. Reed and X. Yu, *Adaptive multiple-band CFAR detection of an optical pattern with unknown spectral
distribution*, IEEE TASSP 38(10), 1990. The mean and covariance come from one streaming pass over the cube;
the scores are computed block by block, so the cube may be larger than memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import register
from ._base import Detector


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
        import dask.array as da

        from ...preprocess import band_statistics

        stats = band_statistics(cube, gram=True)
        values, vectors = np.linalg.eigh(stats.covariance())
        values = np.maximum(values, 0) + self.ridge * max(values.max(), 1e-300)
        whitening = vectors / np.sqrt(values)
        mean = stats.mean

        def distance(block: np.ndarray) -> np.ndarray:
            white = (block.reshape(-1, block.shape[-1]).astype(np.float64) - mean) @ whitening
            return np.einsum("ij,ij->i", white, white).reshape(block.shape[:2])

        if isinstance(cube, da.Array):
            return cube.rechunk({2: -1}).map_blocks(distance, drop_axis=2, dtype=np.float64)
        return distance(np.asarray(cube))
