"""Plumbing shared by the spectral operations: map a NumPy function over chunks of whole spectra."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from ..cube import CUBE

__all__ = ["map_spectra", "whole_spectra", "replace_cube"]


def whole_spectra(cube: xr.DataArray) -> xr.DataArray:
    """``cube`` with one chunk along ``band`` (spectral operations see whole spectra)."""
    if cube.chunks is not None and len(cube.chunksizes["band"]) != 1:
        return cube.chunk({"band": -1})
    return cube


def map_spectra(cube: xr.DataArray, fn: Callable[[np.ndarray], np.ndarray], *, n_bands: int | None = None,
                dtype: Any = None) -> Any:
    """Apply ``fn`` (``(..., band) → (..., band')``) to every chunk of whole spectra; lazy for dask input.

    Returns the bare array (dask or NumPy) with ``band'`` = ``n_bands`` (default: unchanged). Integer input
    (stored DN) is converted to ``dtype`` (default float32 for integers, else the input's) before ``fn``.
    """
    cube = whole_spectra(cube)
    data = cube.data
    out_bands = cube.shape[-1] if n_bands is None else n_bands
    out_dtype = np.dtype(dtype or (cube.dtype if cube.dtype.kind == "f" else np.float32))
    work_dtype = cube.dtype if cube.dtype.kind == "f" else out_dtype

    def apply(block: np.ndarray) -> np.ndarray:
        return fn(block.astype(work_dtype, copy=False)).astype(out_dtype, copy=False)

    if cube.chunks is None:
        return apply(np.asarray(data))
    import dask.array as da

    return da.map_blocks(apply, data, dtype=out_dtype, chunks=(*data.chunks[:2], (out_bands,)))


def replace_cube(scene: xr.Dataset, data: Any, *, band_coords: dict[str, Any] | None = None,
                 attrs: dict[str, Any] | None = None) -> xr.Dataset:
    """``scene`` with a new cube; ``band_coords`` replaces the band coordinates when the band axis changed."""
    cube = scene[CUBE]
    new_attrs = {**cube.attrs, **(attrs or {})}
    if band_coords is None:
        return scene.assign({CUBE: cube.copy(data=data).assign_attrs(new_attrs)})
    # the band axis changed: every variable on the old band axis goes with it
    kept = scene.drop_vars([k for k, v in scene.variables.items() if "band" in v.dims])
    return kept.assign_coords(band_coords).assign({CUBE: (("y", "x", "band"), data, new_attrs)})
