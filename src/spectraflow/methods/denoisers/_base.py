"""What a denoiser is: ``get("denoise", name)(**config).denoise(cube)``.

``cube`` is a ``(y, x, band)`` xarray object with values scaled to [0, 1]; the result has the same dims,
coordinates and attributes, and is lazy when the cube is (a dask array read from a store): every method works
within ``memory_mb`` of working memory whatever the cube's size, statistics in one streaming pass and spatial
steps tile by tile with a ``halo`` of neighbouring pixels (:mod:`spectraflow.blocks`). Methods estimate the
noise themselves unless their config is given it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ...errors import ConfigError

__all__ = ["Denoiser"]


@dataclass(frozen=True)
class Denoiser:
    """Base of the denoisers; subclasses implement :meth:`restore` and say their working bytes per voxel.

    ``memory_mb`` bounds the working memory of one tile (the tile side follows from it unless ``tile`` is
    given); each tile is processed with ``halo`` pixels of its neighbours around it and cropped back.
    """

    name: ClassVar[str]
    memory_mb: float = 256.0
    tile: int | None = None
    halo: int = 16

    def __post_init__(self) -> None:
        if not self.memory_mb > 0:
            self._fail("memory_mb", self.memory_mb, "a positive working-memory budget in MiB")
        if self.tile is not None and self.tile < 8:
            self._fail("tile", self.tile, "a tile side of at least 8 pixels, or null (from memory_mb)")
        if not 0 <= self.halo:
            self._fail("halo", self.halo, "a non-negative number of pixels")

    def restore(self, noisy: Any) -> Any:
        """The denoised ``(y, x, band)`` array of ``noisy`` (NumPy or dask): lazy, through :meth:`tiled`."""
        raise NotImplementedError

    def bytes_per_voxel(self) -> float:
        """Working bytes per voxel of a tile (with its halo) while :meth:`restore`'s spatial step runs."""
        raise NotImplementedError

    def tiled(self, step: Callable[[np.ndarray], np.ndarray], noisy: Any) -> Any:
        """``step`` applied to ``noisy`` tile by tile under ``memory_mb`` (a lazy array)."""
        from ...blocks import map_tiles, tile_for_budget

        tile = self.tile or tile_for_budget(self.memory_mb * 2**20, noisy.shape[2], self.bytes_per_voxel(),
                                            halo=self.halo)
        return map_tiles(step, noisy, tile=tile, halo=self.halo)

    def denoise(self, cube: xr.DataArray) -> xr.DataArray:
        if getattr(cube, "dims", None) != ("y", "x", "band"):
            raise ConfigError(f"denoise {self.name!r}: expected a (y, x, band) DataArray, got dims "
                              f"{getattr(cube, 'dims', None)}")
        restored = self.restore(cube.data)
        if cube.chunks is None:  # a cube in memory gets its result in memory
            restored = np.asarray(restored)
        return cube.copy(data=restored.astype(cube.dtype if cube.dtype.kind == "f" else np.float32))

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"denoise method {self.name!r}: {field}={value!r}; expected {expected}")
