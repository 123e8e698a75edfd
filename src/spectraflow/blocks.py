"""Methods on cubes larger than memory: tiles with a halo, and representative pixel subsets.

Every per-scene method reads its cube (NumPy, or lazy from a store) through one of three patterns:

* **statistics** in one streaming pass (:func:`spectraflow.preprocess.band_statistics`);
* **spatial steps** tile by tile (:func:`map_tiles`): each tile is processed with a margin (``halo``) of its
  neighbours' pixels around it and cropped back, so a step whose reach is within the halo gives exactly the
  whole-image result; for steps of wider reach (total variation) the seams are measured
  (``tests/denoise/test_denoisers.py``, ``benchmarks/scale.py``). The tile side follows from a memory budget
  (:func:`tile_for_budget`), so memory is bounded by the tile, not the cube;
* **blind fits** whose cost grows faster than the pixels (archetypal analysis, endmember search, robust subspace
  fits) on a subset (:func:`representative_pixels`): whole rows evenly spaced over the scene (a systematic
  sample that keeps every row's neighbours for noise estimates) plus the pixels at the extremes of many
  directions of the data cloud (the vertices a simplex fit looks for, found in one pass over every pixel).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .cube import array_of
from .errors import ConfigError

__all__ = ["tile_for_budget", "tile_chunks", "map_tiles", "map_fine_tiles", "map_blocks_with_halo", "row_strips",
           "sample_rows", "extreme_pixels", "representative_pixels"]


def tile_for_budget(budget_bytes: float, n_bands: int, bytes_per_voxel: float, *, halo: int = 0,
                    minimum: int = 16) -> int:
    """The largest square tile side whose window (the tile and its ``halo`` on each side) fits ``budget_bytes``
    at ``bytes_per_voxel`` of working memory per voxel."""
    if not budget_bytes > 0 or not bytes_per_voxel > 0:
        raise ConfigError(f"tiling: budget {budget_bytes} B and {bytes_per_voxel} B per voxel; expected positive "
                          "values")
    side = int(math.sqrt(budget_bytes / (n_bands * bytes_per_voxel))) - 2 * halo
    if side < minimum:
        raise ConfigError(f"tiling: {budget_bytes / 2**20:.0f} MiB leaves tiles of {side} pixels for {n_bands} "
                          f"bands and a halo of {halo}; raise memory_mb (tiles need at least {minimum} pixels)")
    return side


def tile_chunks(length: int, tile: int, halo: int = 0, *, grain: int = 1) -> tuple[int, ...]:
    """Tile sides along an axis of ``length`` pixels: at most ``tile`` (or ``grain``, if larger), multiples of
    ``grain``, evened out over the axis; a last tile narrower than ``halo`` joins the one before it."""
    count = -(-length // tile)
    if count == 1:
        return (length,)
    side = -(-length // count)  # evened out
    side = max(grain, side // grain * grain)
    sizes = [side] * (length // side) + ([length % side] if length % side else [])
    if len(sizes) > 1 and sizes[-1] < halo:
        sizes[-2:] = [sizes[-2] + sizes[-1]]
    return tuple(sizes)


def map_tiles(func: Callable[[np.ndarray], np.ndarray], cube: Any, *, tile: int, halo: int) -> Any:
    """``func`` applied to ``cube`` ``(y, x, band)`` tile by tile: a lazy dask array of the same shape (float32).

    ``func`` maps a float32 ``(h, w, band)`` window to an array of the same shape. Each tile is passed with up
    to ``halo`` pixels of its neighbours on every side (none beyond the image's edge) and its result cropped
    back to the tile. ``cube`` may be NumPy, dask or a (lazy) xarray object; only the windows are read.
    """
    import dask.array as da

    if tile < 1 or halo < 0:
        raise ConfigError(f"tiling: tile={tile}, halo={halo}; expected tile >= 1 and halo >= 0")
    data = array_of(cube)
    height, width, _ = data.shape
    # rows of tiles made of whole rows of the input's blocks (a store's strips of shards): each block is read
    # for one row of tiles only, and a writer can cut the result between rows of tiles without recomputing
    regular = isinstance(data, da.Array) and len(set(data.chunks[0][:-1])) <= 1 and data.chunks[0][0] <= tile
    row_grain = data.chunks[0][0] if regular else 1
    chunks = (tile_chunks(height, tile, halo, grain=row_grain), tile_chunks(width, tile, halo), (data.shape[2],))
    if isinstance(data, da.Array):
        data = data.rechunk(chunks)
    else:
        data = da.from_array(np.asarray(data), chunks=chunks)
    depth = {0: min(halo, *data.chunks[0]), 1: min(halo, *data.chunks[1]), 2: 0}

    def run(window: np.ndarray) -> np.ndarray:
        result = np.asarray(func(np.asarray(window, dtype=np.float32)), dtype=np.float32)
        if result.shape != window.shape:
            raise ValueError(f"tiling: the step returned {result.shape} for a {window.shape} window")
        return result

    return data.map_overlap(run, depth=depth, boundary="none", trim=True, dtype=np.float32,
                            meta=np.empty((0, 0, 0), np.float32))


def map_blocks_with_halo(func: Callable[[np.ndarray], np.ndarray], data: Any, halo: int, *,
                         channels: int | None = None, dtype: Any = np.float64) -> Any:
    """``func`` over the blocks of a lazy ``(y, x, c)`` dask array, each passed with ``halo`` pixels of its
    neighbours on every side (none beyond the image's edge; blocks smaller than the halo are merged, so every
    block gets all of it) and its result cropped back. ``func`` maps a ``(h, w, c)`` window to ``(h, w)``
    (``channels`` None) or ``(h, w, channels)``; a step whose reach is within ``halo`` gives the whole array's
    result."""
    import dask.array as da

    # an axis no longer than the halo is one block: its every pixel is within reach anyway (and dask refuses a
    # depth beyond the array)
    data = data.rechunk({2: -1, **{axis: -1 for axis in (0, 1) if data.shape[axis] <= halo}})
    depth = {axis: halo if len(data.chunks[axis]) > 1 else 0 for axis in (0, 1)}
    padded = da.overlap.overlap(data, depth={**depth, 2: 0}, boundary="none")
    if channels is None:
        blocks = padded.map_blocks(func, drop_axis=2, dtype=dtype)
        return da.overlap.trim_internal(blocks, depth, boundary="none")
    blocks = padded.map_blocks(func, chunks=(*padded.chunks[:2], (channels,)), dtype=dtype)
    return da.overlap.trim_internal(blocks, {**depth, 2: 0}, boundary="none")


def map_fine_tiles(func: Callable[[np.ndarray, np.ndarray], np.ndarray], coarse: Any, fine: Any, ratio: int, *,
                   tile: int, halo: int) -> Any:
    """``func(coarse_window, fine_window)`` over a pair of co-registered grids, ``fine`` ``ratio`` times finer
    than ``coarse`` (``(Y, X[, band])`` = ``ratio`` × ``(y, x[, band])``), tile by tile: a lazy float32 dask
    array on the fine grid with ``coarse``'s bands.

    The coarse grid is cut into tiles of about ``tile`` pixels; each is passed with up to ``halo`` coarse pixels
    of its neighbours (``ratio`` × as many fine ones; none beyond the image's edge), and ``func``'s result, the
    fine window, is cropped back to the tile. Only the windows are read; an input may be NumPy, dask or xarray.
    """
    import dask
    import dask.array as da

    if tile < 1 or halo < 0 or ratio < 1:
        raise ConfigError(f"tiling: tile={tile}, halo={halo}, ratio={ratio}; expected tile, ratio >= 1, halo >= 0")
    low, high = array_of(coarse), array_of(fine)
    height, width, n_bands = low.shape
    if tuple(high.shape[:2]) != (height * ratio, width * ratio):
        raise ConfigError(f"tiling: a {high.shape[:2]} grid is not {ratio} x the {low.shape[:2]} one")

    def window(step: Callable[..., np.ndarray], a: np.ndarray, b: np.ndarray, crop: tuple[slice, slice]
               ) -> np.ndarray:
        result = np.asarray(step(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)))
        if result.shape[:2] != b.shape[:2]:
            raise ValueError(f"tiling: the step returned {result.shape} for a {b.shape} fine window")
        return result[crop].astype(np.float32)

    tiles_y, tiles_x = tile_chunks(height, tile, halo), tile_chunks(width, tile, halo)
    rows = []
    for y0, h in zip(np.cumsum((0, *tiles_y[:-1])), tiles_y, strict=True):
        row = []
        for x0, w in zip(np.cumsum((0, *tiles_x[:-1])), tiles_x, strict=True):
            a0, a1, b0, b1 = max(0, y0 - halo), min(height, y0 + h + halo), max(0, x0 - halo), min(width, x0 + w + halo)
            crop = (slice((y0 - a0) * ratio, (y0 - a0 + h) * ratio), slice((x0 - b0) * ratio, (x0 - b0 + w) * ratio))
            part = dask.delayed(window, pure=True)(func, low[a0:a1, b0:b1],
                                                   high[a0 * ratio:a1 * ratio, b0 * ratio:b1 * ratio], crop)
            row.append([da.from_delayed(part, shape=(h * ratio, w * ratio, n_bands), dtype=np.float32,
                                        meta=np.empty((0, 0, 0), np.float32))])  # nested thrice: (y, x, band)
        rows.append(row)
    return da.block(rows)


def row_strips(height: int, width: int, max_pixels: int, *, rows: int, minimum_rows: int, count: int = 4
               ) -> list[slice]:
    """Windows of whole rows evenly spaced over a ``height`` × ``width`` scene, for a fit that needs each pixel's
    neighbours: the whole scene when it has at most ``max_pixels`` pixels, else ``max_pixels`` pixels in all, in
    windows of at most ``rows`` rows (narrower, down to ``minimum_rows``, so that there are at least ``count``)."""
    if height * width <= max_pixels:
        return [slice(0, height)]
    size = min(height, rows, max(minimum_rows, max_pixels // (count * width)))
    windows = max(1, max_pixels // (size * width))
    starts = np.linspace(0, height - size, windows) if windows > 1 else [(height - size) / 2]  # (one: the middle)
    return [slice(int(s), int(s) + size) for s in np.unique(np.round(starts))]


def sample_rows(cube: Any, max_pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, values)``: whole rows evenly spaced over the cube, at most ``max_pixels`` pixels (at least one
    row), read from a lazy cube row by row; ``values`` is ``(row, x, band)`` float64."""
    data = array_of(cube)
    height, width = data.shape[:2]
    count = min(height, max(1, max_pixels // width))
    rows = np.unique(np.linspace(0, height - 1, count).round().astype(int))
    values = data[rows]
    values = values.compute() if hasattr(values, "compute") else values
    return rows, np.asarray(values, dtype=np.float64)


def extreme_pixels(cube: Any, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, spectra)`` of the pixels at the least and greatest projection on each of ``directions``
    ``(band, d)`` over the whole cube (raster-order flat indices), in one pass over its blocks."""
    import dask
    import dask.array as da

    data = array_of(cube)
    height, width, n_bands = data.shape
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=(-1, -1, -1))
    data = data.rechunk({2: -1})

    def block_extremes(block: np.ndarray, y0: int, x0: int) -> tuple[np.ndarray, np.ndarray]:
        pixels = block.reshape(-1, n_bands).astype(np.float64)
        projection = pixels @ directions
        finite = np.isfinite(projection).all(axis=1)
        if not finite.any():
            return np.empty(0, np.int64), np.empty((0, n_bands))
        projection[~finite] = np.nan
        local = np.unique(np.concatenate([np.nanargmin(projection, axis=0), np.nanargmax(projection, axis=0)]))
        rows, cols = np.unravel_index(local, block.shape[:2])
        return (y0 + rows) * width + (x0 + cols), pixels[local]

    y_starts = np.cumsum((0, *data.chunks[0][:-1]))
    x_starts = np.cumsum((0, *data.chunks[1][:-1]))
    blocks = data.to_delayed()
    parts = dask.compute(*[dask.delayed(block_extremes, pure=True)(blocks[i, j, 0], int(y0), int(x0))
                           for i, y0 in enumerate(y_starts) for j, x0 in enumerate(x_starts)])
    indices = np.concatenate([p[0] for p in parts])
    spectra = np.concatenate([p[1] for p in parts])
    projection = spectra @ directions  # the blocks' candidates, reduced to the global extremes
    keep = np.unique(np.concatenate([projection.argmin(axis=0), projection.argmax(axis=0)]))
    order = np.argsort(indices[keep])
    return indices[keep][order], spectra[keep][order]


def representative_pixels(cube: Any, max_pixels: int, *, directions: int = 64, seed: int = 0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, spectra)``: every pixel when the cube has at most ``max_pixels`` valid ones, else the rows of
    :func:`sample_rows` plus the extremes (:func:`extreme_pixels`) of ``directions`` directions: the principal
    axes of the data and seeded random combinations of them. Indices are raster-order flat indices; pixels
    with a non-finite sample are left out.
    """
    from .preprocess import band_statistics

    data = array_of(cube)
    height, width, n_bands = data.shape
    if height * width <= max_pixels:
        values = np.asarray(data.compute() if hasattr(data, "compute") else data, dtype=np.float64)
        spectra = values.reshape(-1, n_bands)
        indices = np.flatnonzero(np.isfinite(spectra).all(axis=1))
        return indices, spectra[indices]
    rows, sampled = sample_rows(data, max_pixels)
    sample_index = (rows[:, None] * width + np.arange(width)[None, :]).ravel()
    sample = sampled.reshape(-1, n_bands)
    covariance = band_statistics(data, gram=True).covariance()
    _, vectors = np.linalg.eigh(covariance)
    axes = vectors[:, ::-1][:, :min(n_bands, max(1, directions // 4))]
    mixing = np.random.default_rng(seed).standard_normal((axes.shape[1], max(directions - axes.shape[1], 0)))
    extremes_index, extremes = extreme_pixels(data, np.column_stack([axes, axes @ mixing]))
    indices = np.concatenate([sample_index, extremes_index])
    spectra = np.concatenate([sample, extremes])
    indices, first = np.unique(indices, return_index=True)
    spectra = spectra[first]
    finite = np.isfinite(spectra).all(axis=1)
    return indices[finite], spectra[finite]
