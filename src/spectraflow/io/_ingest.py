"""Ingest: read any supported file lazily and write it to a store, with provenance and checks."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from .._atomic import check_replaceable
from .._guard import check_hdf5, require_regular_file
from ..cube import CUBE
from ..errors import FormatError, NonFiniteDataError, PathEscapeError, SpectraflowError, UnsupportedFormatError
from ._base import ChunkSpec, Reader, readers, sha256_file, source_entries
from ._store import StoreLayout, store_layout, write_store

__all__ = ["detect_format", "get_reader", "read", "ingest", "attach_ground_truth", "check_name", "resolve_inside"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SNIFF_ORDER = ("envi", "matlab", "netcdf", "geotiff", "npy", "dm", "emd")
NonFinitePolicy = Literal["refuse", "mask"]


def check_name(name: str) -> str:
    """A dataset name: letters, digits, '.', '_' or '-', not starting with a dot; never a path."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise PathEscapeError(
            f"name {name!r}: expected letters, digits, '.', '_' or '-' (at most 128, not starting with '.' "
            "and without '..'), so it cannot name a path outside the data directory"
        )
    return name


def resolve_inside(path: str | os.PathLike[str], root: str | os.PathLike[str], what: str = "output path") -> Path:
    """``path`` resolved, after checking that it lies inside ``root`` (symlinks followed)."""
    root_resolved = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved == root_resolved or not resolved.is_relative_to(root_resolved):
        shown = f"{path} (leads to {resolved})" if Path(path).absolute() != resolved else str(path)
        raise PathEscapeError(f"{what} {shown}: expected a path inside {root_resolved}")
    return resolved


def get_reader(format: str) -> Reader:
    try:
        return readers.get(format)()
    except KeyError:
        raise UnsupportedFormatError("<format option>", "format", f"one of {readers.names()}", format) from None


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name of the reader for ``path``, judged by content; the extension only orders the guesses.

    When no reader recognises the content, a reader claiming the extension is returned so that opening
    the file reports what is wrong with it in that format's terms.
    """
    path = require_regular_file(path)  # a FIFO would block the first sniff's open
    names = [n for n in _SNIFF_ORDER if n in readers] + [n for n in readers.names() if n not in _SNIFF_ORDER]
    by_extension = [n for n in names if path.suffix.lower() in readers.get(n).extensions]
    for name in by_extension + [n for n in names if n not in by_extension]:
        if readers.get(name).sniff(path):
            return name
    if by_extension:  # e.g. a raw .img without its header: that reader says precisely what is missing
        return by_extension[0]
    raise UnsupportedFormatError(path, "content", f"a file one of the readers {names} recognises",
                                 "unrecognised content")


def _hash_sources(paths: list[Path]) -> dict[Path, str]:
    return {p: sha256_file(p) for p in paths}


def read(path: str | os.PathLike[str], *, format: str | None = None, name: str | None = None,
         chunks: ChunkSpec | None = None, checksum: bool = True, **options: Any) -> xr.Dataset:
    """Open ``path`` lazily as a scene (see :mod:`spectraflow.cube`), with provenance hashes filled in."""
    path = require_regular_file(path)
    reader = get_reader(format or detect_format(path))
    scene = reader.open(path, chunks=chunks, name=name, **options)
    if checksum:
        files = reader.source_files(path)
        _fill_hashes(scene, files, _hash_sources(files))
    return scene


def _fill_hashes(scene: xr.Dataset, paths: list[Path], hashes: Mapping[Path, str]) -> None:
    entries = source_entries(paths, hashes)
    scene.attrs["source_files"] = json.dumps(entries)
    scene.attrs["source_sha256"] = entries[0]["sha256"]


def _finite_guard(policy: NonFinitePolicy, source: str) -> Callable[..., np.ndarray]:
    def guard(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        # min and max find every NaN (it propagates) and ±inf (an extreme) in two allocation-free passes,
        # 5× faster than np.isfinite's boolean array; the elementwise scan runs only when something is there
        if block.size == 0 or (np.isfinite(block.min()) and np.isfinite(block.max())):
            return block
        bad = ~np.isfinite(block)
        if policy == "refuse":
            where = block_info[0]["array-location"] if block_info else "?"
            first = tuple(int(i[0]) + int(loc[0]) for i, loc in zip(np.nonzero(bad), where, strict=False)) \
                if block_info else ()
            raise NonFiniteDataError(
                source, "data", "finite values (or ingest with nonfinite='mask' to keep them as NaN)",
                f"{int(bad.sum())} NaN/inf samples, the first at (y, x, band) = {first}",
            )
        return np.where(np.isinf(block), np.nan, block).astype(block.dtype)

    return guard


def ingest(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    format: str | None = None,
    name: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    nonfinite: NonFinitePolicy = "refuse",
    compressor: str = "none",
    layout: StoreLayout | None = None,
    ground_truth: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Path:
    """Read ``path`` and write it as a store at ``out``; return the store's path.

    ``data_root`` (when given) is the directory ``out`` must stay inside (paths from ``params.yaml`` and the
    landing zone; a path typed at the command line is the user's own). What is at ``out`` is replaced only
    when it is a store that ingest wrote; anything else is refused before reading. The input is hashed in a thread
    while the cube streams into the store, and the store appears at ``out`` only once complete.
    Non-finite float samples are refused (``nonfinite="refuse"``, the default) or kept as NaN (``"mask"``).
    ``ground_truth`` names a NetCDF/HDF5 file whose ``endmembers``, ``abundances`` and ``(y, x)`` mask
    variables are stored with the cube (see :mod:`spectraflow.cube`).
    """
    path = require_regular_file(path)
    out_path = resolve_inside(out, data_root) if data_root is not None else Path(out)
    check_replaceable(out_path, "scene")  # before any work: only a previous ingested store is replaced
    if name is not None:
        check_name(name)
    if nonfinite not in ("refuse", "mask"):
        raise ValueError(f"nonfinite must be 'refuse' or 'mask', not {nonfinite!r}")
    reader = get_reader(format or detect_format(path))
    # one open: the reader asks for the chunks once it knows the shape, so blocks are whole shards
    chunks: ChunkSpec = layout.dask_chunks() if layout else lambda shape, size: store_layout(shape, size).dask_chunks()
    scene = reader.open(path, name=name, chunks=chunks, **options)
    ny, nx, nb = scene[CUBE].shape
    layout = layout or store_layout((ny, nx, nb), scene[CUBE].dtype.itemsize)
    if ground_truth is not None:
        scene = attach_ground_truth(scene, ground_truth)
    cube = scene[CUBE]
    if cube.dtype.kind == "f":
        import dask.array as da

        guarded = da.map_blocks(_finite_guard(nonfinite, str(path)), cube.data, dtype=cube.dtype)
        scene[CUBE] = cube.copy(data=guarded)
    sources = reader.source_files(path)
    with ThreadPoolExecutor(1) as pool:
        hashing = pool.submit(_hash_sources, sources)

        def provenance() -> dict[str, Any]:
            entries = source_entries(sources, hashing.result())
            return {"source_files": json.dumps(entries), "source_sha256": entries[0]["sha256"]}

        try:
            return write_store(scene, out_path, compressor=compressor, layout=layout, finalize_attrs=provenance)
        except OSError as exc:
            if exc.errno is not None or isinstance(exc, SpectraflowError):
                raise  # the disk (retried by the ingest task) or the store's own message
            # an errno-less OSError is the reading library's word for bytes it could not decode
            raise FormatError(path, "data", "blocks the reader can decode", f"{type(exc).__name__}: {exc}") from None


def attach_ground_truth(scene: xr.Dataset, path: str | os.PathLike[str]) -> xr.Dataset:
    """``scene`` with the ground-truth variables of the NetCDF/HDF5 file ``path`` added, shapes checked."""
    path = require_regular_file(path, "ground-truth file")
    from ..cube import validate_scene

    check_hdf5(path)  # a NetCDF-4/HDF5 file holding its own data, of sizes it can hold
    try:
        with xr.open_dataset(path, engine="h5netcdf") as truth:
            truth = truth.load()
    except (OSError, ValueError, TypeError) as exc:  # h5netcdf's errors for a file that is HDF5 but not NetCDF
        raise FormatError(path, "structure", "a NetCDF-4 file of ground-truth variables",
                          f"{type(exc).__name__}: {exc}") from None
    sizes = scene[CUBE].sizes
    for name, variable in truth.data_vars.items():
        for dim in set(variable.dims) & {"y", "x", "band"}:
            if variable.sizes[dim] != sizes[dim]:
                raise FormatError(path, f"{name}.{dim}", f"length {sizes[dim]} (as the cube)", variable.sizes[dim])
    merged = scene.assign(truth.data_vars).assign_coords(
        {k: v for k, v in truth.coords.items() if k not in scene.coords})
    return validate_scene(merged, str(path))
