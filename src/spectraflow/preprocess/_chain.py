"""A preprocessing chain: parse it from ``params.yaml``, run it lazily, write the result as a store."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..cube import CUBE
from ..methods import build
from ._patches import PatchConfig, patch_table
from ._spectra import whole_spectra
from ._steps import Step

__all__ = ["parse_steps", "run_chain", "chain_records", "invert", "preprocess_store", "PREPROCESSING"]

PREPROCESSING = "preprocessing"  # dataset attribute: JSON list of {"step", "params", "fitted"}
# stored data per task: a step's float copies are a few times this, so workers of ~1 GB stay within bounds
BLOCK_BYTES = 16 << 20


def parse_steps(spec: Sequence[Any] | None) -> list[Step]:
    """Steps from ``params.yaml``'s ordered list: each item ``name`` or ``{name: {param: value, ...}}``."""
    return [build("preprocess", dict(item) if isinstance(item, Mapping) else item, f"preprocess.steps[{i}]")
            for i, item in enumerate(spec or [])]


def chain_records(scene: xr.Dataset) -> list[dict[str, Any]]:
    """The chain recorded in a scene's provenance (empty for a scene never preprocessed)."""
    return list(json.loads(scene.attrs.get(PREPROCESSING, "[]")))


def run_chain(scene: xr.Dataset, steps: Sequence[Step]) -> xr.Dataset:
    """Apply ``steps`` in order. The cube stays lazy; steps that fit statistics make one pass each over
    their input. Each step's parameters and fitted values are appended to the ``preprocessing`` attribute."""
    records = chain_records(scene)
    scene = scene.assign({CUBE: whole_spectra(scene[CUBE])})
    for step in steps:
        scene, fitted = step.apply(scene)
        records.append({"step": step.name, "params": _jsonable(step.params()), "fitted": _jsonable(fitted)})
    scene.attrs[PREPROCESSING] = json.dumps(records)
    return scene


def invert(cube: xr.DataArray, records: Sequence[Mapping[str, Any]]) -> Any:
    """Undo the invertible steps (normalize, pca, mnf) of ``records`` in reverse order, back to the first
    non-invertible one; returns the bare array (dask or NumPy)."""
    data: Any = cube
    for record in reversed(records):
        step = parse_steps([{record["step"]: record["params"]}])[0]
        if not step.invertible:
            break
        inverted = step.invert(data, record["fitted"])
        data = xr.DataArray(inverted, dims=cube.dims)
    return getattr(data, "data", data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None if np.isnan(value) else str(value)
    return value


def preprocess_store(source: str | os.PathLike[str], dest: str | os.PathLike[str], steps: Sequence[Step], *,
                     patches: PatchConfig | None = None, compressor: str = "none") -> Path:
    """Run ``steps`` on the store ``source`` and write the result to the store ``dest`` (atomically).

    The source is read in blocks of at most ``BLOCK_BYTES`` of whole spectra. The result keeps the source's
    provenance, adds ``input_store`` and the recorded chain, and (with
    ``patches``) a patch table for training: ``patch_y``, ``patch_x``, ``patch_region``, ``patch_split``
    (0 train, 1 validation) on a ``patch`` dimension.
    """
    from .._atomic import check_replaceable
    from ..io import open_store, write_store

    check_replaceable(dest, "preprocessed")  # before the chain's statistics are fitted
    scene = run_chain(open_store(source, max_block_bytes=BLOCK_BYTES), steps)
    scene.attrs["input_store"] = str(source)
    if patches is not None:
        table = patch_table(scene.sizes["y"], scene.sizes["x"], patches)
        scene = scene.assign({f"patch_{k}": ("patch", v) for k, v in table.items()})
        scene.attrs["patches"] = json.dumps(_jsonable(vars(patches)))
    return write_store(scene, dest, compressor=compressor, kind="preprocessed")
