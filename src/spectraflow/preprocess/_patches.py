"""Spatial tiling (for inference) and patch extraction with a leakage-free train/validation split (for training).

Split by region: the (padded) image is cut into square regions of ``region`` pixels; a seeded permutation
sends a fraction of the regions to validation; patches are cut inside one region each, never across a region
border. Two patches of different splits therefore never share a pixel, however much patches overlap within
a region. Padding (reflection) lets patches reach the image edge; a reflected pixel belongs to the region at
that edge, so padding cannot leak either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cube import array_of
from ..errors import ConfigError

__all__ = ["PatchConfig", "Window", "tile_windows", "patch_table", "extract_patches"]


@dataclass(frozen=True)
class Window:
    """A spatial window ``[y0, y0 + height) × [x0, x0 + width)``."""

    y0: int
    x0: int
    height: int
    width: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y0 + self.height), slice(self.x0, self.x0 + self.width)


def _starts(length: int, tile: int, stride: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)  # the last tile ends at the edge
    return starts


def tile_windows(height: int, width: int, tile: int, overlap: int = 0) -> list[Window]:
    """Tiles of ``tile`` pixels overlapping by ``overlap`` that cover the image (the last ones end at the edge)."""
    if tile < 1 or not 0 <= overlap < tile:
        raise ConfigError(f"tile={tile}, overlap={overlap}: expected tile >= 1 and 0 <= overlap < tile")
    stride = tile - overlap
    return [Window(y0, x0, min(tile, height), min(tile, width))
            for y0 in _starts(height, tile, stride) for x0 in _starts(width, tile, stride)]


@dataclass(frozen=True)
class PatchConfig:
    """Training patches (``preprocess.patches`` in params.yaml).

    ``size`` pixels square, neighbours ``overlap`` pixels apart less than ``size``; ``region`` the side of the
    split regions (at least ``size``); ``val_fraction`` of the regions go to validation; ``pad`` pixels of
    reflection padding around the image; ``seed`` fixes the split.
    """

    size: int = 32
    overlap: int = 8
    region: int = 64
    val_fraction: float = 0.2
    pad: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.size < 1 or not 0 <= self.overlap < self.size:
            raise ConfigError(f"preprocess.patches: size={self.size}, overlap={self.overlap}; "
                              "expected size >= 1 and 0 <= overlap < size")
        if self.region < self.size:
            raise ConfigError(f"preprocess.patches: region={self.region}; expected at least size={self.size}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"preprocess.patches: val_fraction={self.val_fraction}; expected 0 <= f < 1")
        if not 0 <= 2 * self.pad < self.size:
            # wider padding could mirror a pixel of one region into a patch of its neighbour
            raise ConfigError(f"preprocess.patches: pad={self.pad}; expected 0 <= pad < size/2 = {self.size / 2}")


def patch_table(height: int, width: int, config: PatchConfig) -> dict[str, np.ndarray]:
    """Patch corners and splits: ``y``, ``x`` (top-left, in unpadded image coordinates, may be negative
    by up to ``pad``), ``region`` and ``split`` (0 train, 1 validation). Deterministic for a seed."""
    pad = config.pad
    ph, pw = height + 2 * pad, width + 2 * pad
    if ph < config.size or pw < config.size:
        raise ConfigError(f"preprocess.patches: a {height}×{width} image (padded by {pad}) is smaller than "
                          f"the patch size {config.size}")
    region_rows, region_cols = -(-ph // config.region), -(-pw // config.region)
    n_regions = region_rows * region_cols
    n_val = int(round(config.val_fraction * n_regions))
    if config.val_fraction > 0 and n_regions > 1:
        n_val = min(max(n_val, 1), n_regions - 1)
    rng = np.random.default_rng(config.seed)
    is_val = np.zeros(n_regions, dtype=np.int8)
    is_val[rng.permutation(n_regions)[:n_val]] = 1
    stride = config.size - config.overlap
    ys, xs, regions = [], [], []
    for r in range(n_regions):
        top, left = (r // region_cols) * config.region, (r % region_cols) * config.region
        h, w = min(config.region, ph - top), min(config.region, pw - left)
        if h < config.size or w < config.size:
            continue  # an edge sliver narrower than a patch holds no patch (and so cannot leak)
        for dy in _starts(h, config.size, stride):
            for dx in _starts(w, config.size, stride):
                ys.append(top + dy - pad)
                xs.append(left + dx - pad)
                regions.append(r)
    region_index = np.asarray(regions, dtype=np.int64)
    return {"y": np.asarray(ys, dtype=np.int64), "x": np.asarray(xs, dtype=np.int64), "region": region_index,
            "split": is_val[region_index] if region_index.size else np.zeros(0, np.int8)}


def extract_patches(cube: Any, y: np.ndarray, x: np.ndarray, size: int) -> np.ndarray:
    """``(n, size, size, band)`` patches with top-left corners ``(y, x)``; reflection outside the image.

    ``cube`` is a ``(y, x, band)`` array (NumPy, dask or xarray); only the rows and columns the patches
    touch are read.
    """
    data = array_of(cube)
    height, width = data.shape[:2]
    out = []
    for y0, x0 in zip(np.asarray(y), np.asarray(x), strict=True):
        rows = _reflect(np.arange(y0, y0 + size), height)
        cols = _reflect(np.arange(x0, x0 + size), width)
        r0, c0 = rows.min(), cols.min()
        window = np.asarray(data[r0:rows.max() + 1, c0:cols.max() + 1])
        out.append(window[np.ix_(rows - r0, cols - c0)])
    return np.stack(out) if out else np.zeros((0, size, size, data.shape[2]), dtype=data.dtype)


def _reflect(index: np.ndarray, length: int) -> np.ndarray:
    """Index reflection without repeating the edge (NumPy's ``reflect`` padding mode)."""
    if length == 1:
        return np.zeros_like(index)
    period = 2 * (length - 1)
    index = np.mod(index, period)
    return np.where(index >= length, period - index, index)
