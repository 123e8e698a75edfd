"""Stores of PDE field pairs for operator learning: ``input`` and ``output`` ``(sample, channel, *grid)``.

The grid axes are ``x`` (1-D) or ``y, x`` (2-D) with coordinates in [0, 1] (the resolution is in the
coordinates), the equation's parameters and the data's provenance in the attributes. Sharded zarr v3 along
the sample axis, written beside and renamed into place like every store.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._atomic import atomic_output
from ..errors import FormatError

__all__ = ["fields_dataset", "write_fields_store", "open_fields_store"]

_SHARD_BYTES = 32 * 2**20


def fields_dataset(inputs: np.ndarray, outputs: np.ndarray, attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """The dataset of ``inputs``/``outputs`` ``(sample, channel, *grid)`` (grids equal, 1-D or 2-D)."""
    if inputs.ndim not in (3, 4) or outputs.ndim != inputs.ndim or inputs.shape[0] != outputs.shape[0] \
            or inputs.shape[2:] != outputs.shape[2:]:
        raise ValueError(f"operator fields: inputs {inputs.shape}, outputs {outputs.shape}; expected "
                         "(sample, channel, *grid) with the same samples and grid, 1-D or 2-D")
    axes = ("x",) if inputs.ndim == 3 else ("y", "x")
    coords = {a: np.linspace(0.0, 1.0, n) for a, n in zip(axes, inputs.shape[2:], strict=True)}
    return xr.Dataset({"input": (("sample", "in_channel", *axes), inputs.astype(np.float32)),
                       "output": (("sample", "out_channel", *axes), outputs.astype(np.float32))},
                      coords=coords, attrs=dict(attrs or {}))


def write_fields_store(dataset: xr.Dataset, dest: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` (from :func:`fields_dataset`) as a sharded zarr v3 store at ``dest``, atomically."""
    import zarr

    encoding = {}
    for name in ("input", "output"):
        array = dataset[name]
        per_sample = array[0].nbytes
        shard = max(1, min(array.shape[0], _SHARD_BYTES // max(per_sample, 1)))
        chunk = max(1, min(shard, 2**20 // max(per_sample, 1)))
        shard -= shard % chunk
        encoding[name] = {"chunks": (chunk, *array.shape[1:]), "shards": (shard, *array.shape[1:])}
    dest = Path(dest)
    with atomic_output(dest, "fields") as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        dataset.to_zarr(tmp, mode="w-", zarr_format=3, consolidated=False, encoding=encoding)
        zarr.consolidate_metadata(tmp)
    return dest


def open_fields_store(path: str | os.PathLike[str]) -> xr.Dataset:
    """Open a store written by :func:`write_fields_store` (lazily)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        dataset = xr.open_zarr(path, consolidated=True)
    if "input" not in dataset or "output" not in dataset:
        raise FormatError(path, "variables", "'input' and 'output' fields (an operator-learning store)",
                          sorted(map(str, dataset.data_vars)))
    return dataset
