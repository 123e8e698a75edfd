"""Tiled inference: apply a spatial model window by window, blending the overlaps, under a memory cap.

A cube of any size is cut into square spatial tiles (whole spectra each) that overlap by ``overlap`` pixels;
each tile is read (only its window: the cube may be lazy), passed through the model and accumulated with a
weight that is zero on the outer quarter of each overlap and ramps linearly to one across its middle, then the
sum is divided by the weights. A model whose receptive radius is at most a quarter of the overlap therefore
reproduces whole-image inference exactly; a wider one has its seams hidden by the blend. The tile side
follows from a memory budget and the model's activation bytes per voxel, so memory is bounded by the tile,
not the cube.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..cube import array_of
from ..errors import ConfigError

__all__ = ["tiled_apply", "tile_for_budget"]


def tile_for_budget(budget_bytes: float, n_bands: int, bytes_per_voxel: float, *, minimum: int = 16,
                    maximum: int = 1024) -> int:
    """The largest square tile side whose activations (``bytes_per_voxel`` per voxel) fit ``budget_bytes``."""
    if not budget_bytes > 0 or not bytes_per_voxel > 0:
        raise ConfigError(f"tiled inference: budget {budget_bytes} B and {bytes_per_voxel} B per voxel; "
                          "expected positive values")
    side = int(math.sqrt(budget_bytes / (n_bands * bytes_per_voxel)))
    if side < minimum:
        raise ConfigError(f"tiled inference: {budget_bytes / 2**20:.0f} MiB leaves tiles of {side} pixels for "
                          f"{n_bands} bands; raise the memory limit (tiles need at least {minimum} pixels)")
    return min(side, maximum)


def _ramp(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> np.ndarray:
    """Blending weights along one side of a tile: zero on the outer quarter of the overlap (where a model
    still sees the tile's edge), rising linearly to one across its middle half."""
    weight = np.ones(length, dtype=np.float32)
    if overlap > 0:
        margin = overlap // 4
        rise = np.clip((np.arange(overlap, dtype=np.float32) - margin + 1) / (overlap - 2 * margin + 1), 0, 1)
        n = min(overlap, length)
        if ramp_start:
            weight[:n] = np.minimum(weight[:n], rise[:n])
        if ramp_end:
            weight[-n:] = np.minimum(weight[-n:], rise[::-1][-n:])
    return weight


def tiled_apply(model: Callable[[np.ndarray], np.ndarray], cube: Any, tile: int, overlap: int, *,
                progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """``model`` applied to ``cube`` ``(y, x, band)`` tile by tile; returns the ``(y, x, band)`` float32 result.

    ``model`` maps a ``(h, w, band)`` float32 window to an array of the same shape; ``cube`` may be NumPy,
    dask, zarr or a (lazy) xarray object — each tile reads only its window. ``progress(done, total)`` is
    called after every tile.
    """
    from ..preprocess._patches import tile_windows

    data = array_of(cube)
    height, width, n_bands = data.shape
    if overlap >= tile:
        raise ConfigError(f"tiled inference: overlap={overlap} must be smaller than the tile side {tile}")
    # as few tiles as the side allows, then evened out so that no tile is mostly overlap
    count = max(-(-(max(height, width) - overlap) // (tile - overlap)), 1)
    tile = min(tile, -(-(max(height, width) - overlap) // count) + overlap)
    windows = tile_windows(height, width, tile, overlap)
    out = np.zeros((height, width, n_bands), dtype=np.float32)
    weights = np.zeros((height, width), dtype=np.float32)
    for i, window in enumerate(windows):
        rows, cols = window.slices
        result = np.asarray(model(np.asarray(data[rows, cols], dtype=np.float32)), dtype=np.float32)
        if result.shape != (window.height, window.width, n_bands):
            raise ValueError(f"tiled inference: the model returned {result.shape} for a "
                             f"{(window.height, window.width, n_bands)} tile")
        w = np.outer(_ramp(window.height, overlap, window.y0 > 0, window.y0 + window.height < height),
                     _ramp(window.width, overlap, window.x0 > 0, window.x0 + window.width < width))
        out[rows, cols] += result * w[..., None]
        weights[rows, cols] += w
        if progress is not None:
            progress(i + 1, len(windows))
    out /= weights[..., None]
    return out
