"""Sparse corruption found and replaced before a Gaussian denoiser runs: stuck values, column stripes and dead
lines, impulses.

Mixed noise (the protocol's ``mixture``: non-i.i.d. Gaussian noise plus stripes, dead lines and salt-and-pepper)
breaks a least-squares subspace: the corrupted entries are outliers. ``robust_subspace_tv`` fits through them
under an ℓ1 loss, but its eigen-images still carry what the outliers left. Here the same ℓ1 fit (a ``subspace``
of 4 on at most ``max_pixels`` of whole rows) is used to *find* the corrupted entries instead, and the cube with
those entries repaired then goes to a Gaussian denoiser (``subspace_tv`` or ``subspace_learned`` with
``sparse: true``). On the sampled rows:

- each band's noise σ (median absolute deviation of horizontal neighbour differences);
- **stuck values**: a value that repeats far more often than the band's values do (more than 10 times, more
  than 1 in 1000 of the samples and more than 20 times the median count of its band's distinct values: a
  dropped-out detector's 0, a saturated one's maximum, salt-and-pepper). In integer data every value repeats,
  and the median count rises with it;
- **column offsets** of each band: the median, down the sampled rows, of the residual from the ℓ1 fit; an offset
  beyond 5 standard errors of that median is a stripe, subtracted from its column. A column whose samples do not
  vary (under a tenth of σ) is a dead line.

Then, tile by tile: an entry that is stuck, in a dead line, or more than ``threshold`` σ from the ℓ1 fit once its
column's stripe is removed is replaced by the ℓ1 fit's value. Everything else is left as it was (less a stripe's
offset), so on Gaussian noise alone the cube comes through almost unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .robust_subspace_tv import RobustSubspace, RobustSubspaceTV

__all__ = ["SparseCorruption", "find_sparse_corruption"]

STRIP_VOXELS = 2**22  # voxels per strip of rows repaired at once in memory (16 MiB of float32)


@dataclass(frozen=True)
class SparseCorruption:
    """What :func:`find_sparse_corruption` learned from the sampled rows; :meth:`repair` applies it to a cube."""

    space: RobustSubspace  # the ℓ1 fit
    sigma: np.ndarray  # (band,) noise σ
    stuck: tuple[np.ndarray, ...]  # per band, its stuck values
    offset: np.ndarray  # (x, band) column offsets to subtract (0 where no stripe)
    dead: np.ndarray  # (x, band) dead lines
    threshold: float

    def _repair_window(self, window: np.ndarray, x0: int) -> np.ndarray:
        columns = slice(x0, x0 + window.shape[1])
        fit = self.space.cube(self.space.eigen_images(window))
        destriped = window - self.offset[columns]
        bad = np.abs(destriped - fit) > self.threshold * self.sigma
        bad |= self.dead[columns]
        for band, values in enumerate(self.stuck):
            if values.size:
                bad[..., band] |= np.isin(window[..., band], values)
        return np.where(bad, fit, destriped).astype(np.float32)

    def repair(self, noisy: Any) -> Any:
        """``noisy`` ``(y, x, band)`` with the corrupted entries replaced: NumPy for NumPy, lazy for dask."""
        import dask.array as da

        if not isinstance(noisy, da.Array):  # in strips of rows: the fit's temporaries stay small
            noisy = np.asarray(noisy)
            repaired = np.empty(noisy.shape, dtype=np.float32)
            rows = max(1, STRIP_VOXELS // (noisy.shape[1] * noisy.shape[2]))
            for y in range(0, noisy.shape[0], rows):
                repaired[y:y + rows] = self._repair_window(noisy[y:y + rows].astype(np.float32), 0)
            return repaired
        data = noisy.rechunk({2: -1})

        def block(window: np.ndarray, block_info: dict | None = None) -> np.ndarray:
            x0 = block_info[0]["array-location"][1][0] if block_info else 0
            return self._repair_window(np.asarray(window, dtype=np.float32), x0)

        return data.map_blocks(block, dtype=np.float32)


def _stuck_values(band: np.ndarray) -> np.ndarray:
    """The values of one band's samples that repeat far more often than its values do (see the module)."""
    values, counts = np.unique(band, return_counts=True)
    limit = max(10.0, 1e-3 * band.size, 20.0 * float(np.median(counts)))
    return values[counts > limit]


def find_sparse_corruption(noisy: Any, *, threshold: float = 3.0, subspace: int = 4,
                           max_pixels: int = 20_000) -> SparseCorruption:
    """The stuck values, stripes, dead lines and the ℓ1 fit of ``noisy`` (see the module docstring), from at most
    ``max_pixels`` of whole rows evenly spaced over it."""
    from ...blocks import sample_rows

    rows, sample = sample_rows(noisy, max_pixels)
    space = RobustSubspaceTV(subspace=subspace, max_pixels=max_pixels).fit(sample)
    sigma = 1.0 / space.whiten.astype(np.float64)  # the fit's own noise σ
    residual = sample - space.cube(space.eigen_images(sample.astype(np.float32)))
    median = np.median(residual, axis=0)  # (x, band)
    standard_error = 1.2533 * sigma / np.sqrt(len(rows))  # of a median of len(rows) Gaussian values
    offset = np.where(np.abs(median) > 5 * standard_error, median, 0.0)
    dead = sample.std(axis=0) < 0.1 * sigma if len(rows) > 1 else np.zeros(sample.shape[1:], bool)
    stuck = tuple(_stuck_values(sample[..., b]) for b in range(sample.shape[2]))
    return SparseCorruption(space=space, sigma=sigma.astype(np.float32), stuck=stuck,
                            offset=offset.astype(np.float32), dead=dead, threshold=threshold)
