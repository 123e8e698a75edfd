"""The base of the anomaly detectors and the principal-component reduction the windowed ones share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ...errors import ConfigError

__all__ = ["Detector", "WindowedDetector", "principal_components", "box_sum", "score_tiles"]


@dataclass(frozen=True)
class Detector:
    """Base of the detectors: subclasses implement :meth:`score` on the bare ``(y, x, band)`` array."""

    name: ClassVar[str]

    def score(self, cube: Any) -> Any:
        """The ``(y, x)`` scores of ``cube`` (NumPy or dask; NaN where a pixel has no finite spectrum)."""
        raise NotImplementedError

    def scores(self, cube: xr.DataArray) -> xr.DataArray:
        if getattr(cube, "dims", None) != ("y", "x", "band"):
            raise ConfigError(f"anomaly {self.name!r}: expected a (y, x, band) DataArray, got dims "
                              f"{getattr(cube, 'dims', None)}")
        values = self.score(cube.data)
        if cube.chunks is None:
            values = np.asarray(values)
        coords = {k: v for k, v in cube.coords.items() if set(v.dims) <= {"y", "x"}}
        return xr.DataArray(values, dims=("y", "x"), coords=coords, name="anomaly_score",
                            attrs={"method": self.name, "long_name": f"{self.name} anomaly score"})

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"anomaly method {self.name!r}: {field}={value!r}; expected {expected}")


def principal_components(cube: Any, count: int | None = None, *, ridge: float = 1e-12) -> Any:
    """``cube`` ``(y, x, band)`` projected on its ``count`` (default: every) leading principal axes and whitened,
    float64 (lazy for a lazy cube; non-finite pixels stay NaN). ``ridge`` × the largest eigenvalue is added to
    every eigenvalue, so a singular covariance (duplicated bands) stays invertible. Mean and covariance come
    from one streaming pass."""
    from ...preprocess import band_statistics

    stats = band_statistics(cube, gram=True)
    values, vectors = np.linalg.eigh(stats.covariance())
    values = np.maximum(values, 0) + ridge * max(values.max(), 1e-300)
    order = np.argsort(values)[::-1][:min(count or cube.shape[2], cube.shape[2])]
    projection = vectors[:, order] / np.sqrt(values[order])
    return (cube.astype(np.float64) - stats.mean) @ projection


def box_sum(values: np.ndarray, size: int) -> np.ndarray:
    """Sums of ``values`` (``(y, x, ...)``) over the ``size`` × ``size`` window centred on each pixel, the
    window clipped at the image's edge (summed-area table)."""
    height, width = values.shape[:2]
    table = np.pad(values, [(1, 0), (1, 0)] + [(0, 0)] * (values.ndim - 2)).cumsum(0).cumsum(1)
    r = size // 2
    y0, y1 = np.clip(np.arange(height) - r, 0, height), np.clip(np.arange(height) + r + 1, 0, height)
    x0, x1 = np.clip(np.arange(width) - r, 0, width), np.clip(np.arange(width) + r + 1, 0, width)
    return table[y1][:, x1] - table[y0][:, x1] - table[y1][:, x0] + table[y0][:, x0]


@dataclass(frozen=True)
class WindowedDetector(Detector):
    """A detector that compares each pixel with the ring of pixels between a guard window (``inner`` side,
    the pixel and the target's extent) and an ``outer`` window, in the space of the ``components`` leading
    whitened principal components. Scenes larger than memory are scored in tiles with a halo of half the
    outer window (exact: a pixel's score depends only on its window)."""

    inner: int = 5
    outer: int = 15
    components: int = 10

    def __post_init__(self) -> None:
        if not (self.inner >= 1 and self.inner % 2 == 1):
            self._fail("inner", self.inner, "an odd guard-window side of at least 1")
        if not (self.outer > self.inner and self.outer % 2 == 1):
            self._fail("outer", self.outer, f"an odd outer-window side larger than inner ({self.inner})")
        if not self.components >= 1:
            self._fail("components", self.components, "a positive number of principal components")

    def score_window(self, pcs: np.ndarray) -> np.ndarray:
        """Scores ``(h, w)`` of a window of principal components ``(h, w, component)``."""
        raise NotImplementedError

    def score(self, cube: Any) -> Any:
        return score_tiles(self.score_window, principal_components(cube, self.components), self.outer // 2)


def score_tiles(step: Callable[[np.ndarray], np.ndarray], pcs: Any, halo: int) -> Any:
    """``step`` (``(h, w, component)`` → ``(h, w)`` scores) on ``pcs``: at once in memory, or on a lazy array tile
    by tile (its blocks) with ``halo`` pixels of the neighbours around each, cropped back."""
    import dask.array as da

    from ...blocks import map_blocks_with_halo

    return map_blocks_with_halo(step, pcs, halo) if isinstance(pcs, da.Array) else step(pcs)
