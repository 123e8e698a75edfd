"""The spectraflow store: a sharded zarr v3 directory holding one scene, written atomically.

Layout: the cube is stored in inner chunks of a spatial window × all bands (about 1 MiB, so reading one
window of whole spectra touches one chunk), grouped into shards of about 64 MiB (so a 1 GB cube is ~16 data
files: DVC's cost grows with the file count). Float data barely compress (STACK.md measured 1.08–1.17×) and
compression triples write time on 2 cores, so the cube is stored uncompressed by default; ``compressor=
"lz4"`` (blosc, byte shuffle) or ``"zstd"`` can be chosen. Metadata are consolidated.
"""

from __future__ import annotations

import errno
import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._atomic import atomic_output
from ..compute import release_freed_memory
from ..cube import CUBE, spectral_axis, spectral_positions, validate_scene
from ..errors import ConfigError, StoreError
from . import _shardwriter

__all__ = ["StoreLayout", "store_layout", "write_store", "store_writer", "StoreWriter", "write_result", "open_store",
           "store_info", "count_files"]

INNER_CHUNK_BYTES = 1 << 20
SHARD_BYTES = 64 << 20
MIN_SHARD_BYTES = 16 << 20  # ≤ 64 files per GB even for small cubes (DVC's cost grows with the file count)
MIN_SHARDS = 8
COMPRESSORS = ("none", "lz4", "zstd")
#: what xarray warns when the cube's block rows cut the one stored chunk of a small (y, x) variable (a mask):
#: those are read whole in a few KB, so the warning says nothing about the cube's reads
SMALL_VARIABLES_SPLIT = "The specified chunks separate the stored chunks"


@dataclass(frozen=True)
class StoreLayout:
    """Inner chunk and shard shapes, ``(y, x, band)``."""

    chunks: tuple[int, int, int]
    shards: tuple[int, int, int]

    def dask_chunks(self) -> dict[str, int]:
        return dict(zip(("y", "x", "band"), self.shards, strict=True))


def store_layout(shape: tuple[int, int, int], itemsize: int, *, inner_bytes: int = INNER_CHUNK_BYTES,
                 shard_bytes: int = SHARD_BYTES) -> StoreLayout:
    """Square spatial windows of whole spectra (~``inner_bytes``) grouped in shards of ~``shard_bytes``.

    Cubes under ``MIN_SHARDS`` × ``shard_bytes`` get smaller shards (down to ``MIN_SHARD_BYTES``) so that
    writes spread over workers. Shards are full-width strips of whole chunk rows where a chunk row fits the
    shard budget: a strip of lines is one contiguous run of a BIL/BIP file (one run per band in BSQ), so
    ingest reads it in one call, while readers of a window still touch only the inner chunks they need.
    """
    ny, nx, nb = shape
    spectrum = max(nb * itemsize, 1)
    # a small cube still gets a few shards, so that several workers write it in parallel
    shard_bytes = min(shard_bytes, max(MIN_SHARD_BYTES, ny * nx * spectrum // MIN_SHARDS))
    side = max(1, int(math.sqrt(inner_bytes / spectrum)))
    cy, cx = min(side, ny), min(side, nx)
    chunk_row = cy * spectrum  # bytes per pixel column of one chunk row
    max_cols = max(1, shard_bytes // (chunk_row * cx))  # chunks side by side in a shard
    sx = min(max_cols, math.ceil(nx / cx)) * cx
    rows = max(1, shard_bytes // (chunk_row * sx))
    sy = min(rows, math.ceil(ny / cy)) * cy
    return StoreLayout((cy, cx, nb), (sy, sx, nb))


def _compressors(name: str) -> Any:
    if name not in COMPRESSORS:
        raise ConfigError(f"compressor {name!r} is not one of {COMPRESSORS}")
    if name == "none":
        return None
    from zarr.codecs import BloscCname, BloscCodec, BloscShuffle

    return BloscCodec(cname=BloscCname(name), clevel=1 if name == "zstd" else 5, shuffle=BloscShuffle.shuffle)


#: errno values of a full disk, a quota or a file-size limit: the write cannot succeed by retrying
_NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def write_store(scene: xr.Dataset, dest: str | os.PathLike[str], *, compressor: str = "none",
                layout: StoreLayout | None = None,
                finalize_attrs: Callable[[], Mapping[str, Any]] | None = None, kind: str = "scene") -> Path:
    """Write ``scene`` to a sharded zarr v3 store at ``dest``, atomically (beside, then renamed in).

    The cube, and every variable of the cube's dims and shape, is rechunked to whole shards and written a strip
    of shards at a time (see :func:`store_writer`); every other variable is small and stored as one chunk.
    ``finalize_attrs``, when given, is called after the data are written and its result merged into the store's
    attributes before the store is moved into place (ingest uses it for hashes computed while the data stream).
    ``kind`` names the stage output this store is (``"scene"``, ``"preprocessed"``, ...): only a previous store
    of the same kind at ``dest`` is replaced, anything else there is refused before the data are computed.
    Returns ``dest``.
    """
    with store_writer(scene, dest, compressor=compressor, layout=layout, kind=kind) as writer:
        for name in writer.cubes:
            writer.write(name, scene[name].data)
        if finalize_attrs is not None:
            writer.attrs.update(finalize_attrs())
    return Path(dest)


class StoreWriter:
    """A store being written beside its destination, cube-sized variable by variable (:func:`store_writer`)."""

    def __init__(self, path: Path, scene: xr.Dataset, layout: StoreLayout, cubes: list[str],
                 small_lazy: dict[str, xr.DataArray]) -> None:
        self.path = path  # the store beside the destination
        self.layout = layout
        self.cubes = cubes  # the variables :meth:`write` fills, the cube first
        self.attrs: dict[str, Any] = {}  # merged into the store's attributes before it is moved into place
        self._scene = scene
        self._small_lazy = small_lazy
        self._written: set[str] = set()

    def write(self, name: str, data: Any) -> None:
        """Compute ``data`` (a ``(y, x, band)`` array of the cube's shape: NumPy or lazy) into variable ``name``
        a strip of shards at a time, so that working memory is bounded by a strip and its inputs. The small
        lazy ``(y, ...)`` variables (masks derived from the cube) are computed in the cube's strips."""
        import dask
        import dask.array as da
        import zarr

        if name not in self.cubes:
            raise ValueError(f"{self.path}: {name!r} is not one of the store's cube variables {self.cubes}")
        variable = self._scene[name]
        data = da.asarray(data)
        block_rows = data.chunks[0]  # strips end where the input's blocks end, where they can
        data = data.astype(variable.dtype).rechunk(variable.data.chunks)
        array = zarr.open_array(self.path / name, mode="r+")
        by_row = {k: v for k, v in self._small_lazy.items() if "y" in v.dims} if name == CUBE else {}
        ny, nx, nb = data.shape
        sharded = _shardwriter.supports(array)  # else compressed: zarr encodes each strip (whole shards) itself
        for y0, y1 in _row_passes(block_rows, self.layout.shards[0], nx * nb * data.dtype.itemsize):
            rows = {k: v.isel(y=slice(y0, y1)).data for k, v in by_row.items()}
            strip = (_write_shards(self.path / name, array, data[y0:y1], y0 // self.layout.shards[0]) if sharded
                     else data[y0:y1])
            values, parts = dask.compute(strip, rows)
            if not sharded:
                array[y0:y1] = values
            for key, part in parts.items():
                region = tuple(slice(y0, y1) if d == "y" else slice(None) for d in by_row[key].dims)
                zarr.open_array(self.path / key, mode="r+")[region] = part
            del values, parts
            release_freed_memory()  # the pass's blocks, before the next pass allocates its own
        self._written.add(name)

    def open(self) -> xr.Dataset:
        """The store as written so far, lazily (variables not yet written read as zeros)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
            warnings.filterwarnings("ignore", message=SMALL_VARIABLES_SPLIT)
            return xr.open_zarr(self.path, chunks=self.layout.dask_chunks(), consolidated=False)

    def _finish(self) -> None:
        import dask
        import zarr

        missing = [name for name in self.cubes if name not in self._written]
        if missing:
            raise ValueError(f"{self.path}: cube variables {missing} were never written")
        rest = {k: v.data for k, v in self._small_lazy.items() if "y" not in v.dims}
        for name, values in dask.compute(rest)[0].items():
            zarr.open_array(self.path / name, mode="r+")[...] = values
        if self.attrs:
            zarr.open_group(self.path, mode="r+").attrs.update(self.attrs)
        zarr.consolidate_metadata(self.path)


@contextmanager
def store_writer(scene: xr.Dataset, dest: str | os.PathLike[str], *, compressor: str = "none",
                 layout: StoreLayout | None = None, kind: str = "scene") -> Iterator[StoreWriter]:
    """A :class:`StoreWriter` for ``scene`` at ``dest``: metadata and small variables are written beside
    ``dest`` now, then the caller writes each cube-sized variable (``writer.cubes``: the cube and every variable
    of its dims and shape; their values in ``scene`` only give shape and dtype) with ``writer.write`` and may
    read back what it wrote (``writer.open()``); on leaving the block the store is moved into place. On an
    error nothing is moved: the previous store at ``dest`` (of the same ``kind``, else it is refused before
    anything is written) stays as it was."""
    dest = Path(dest)
    validate_scene(scene, str(dest))
    cube = scene[CUBE]
    layout = layout or store_layout(cube.shape, cube.dtype.itemsize)
    cubes = [CUBE, *(str(k) for k, v in scene.data_vars.items()
                     if k != CUBE and v.dims == cube.dims and v.shape == cube.shape)]
    scene = scene.copy()
    placeholder = {name: scene[name].copy(data=_placeholder(scene[name], layout)) for name in cubes}
    # ground truth and masks are small and stored as one chunk each; lazy ones (a mask derived from the
    # cube) are computed in the cube's strips, or at the end
    small_lazy = {str(k): v for k, v in scene.data_vars.items() if k not in cubes and v.chunks is not None}
    scene = scene.assign({**placeholder, **{k: v.chunk(-1) if v.chunks is not None else v
                                            for k, v in scene.data_vars.items() if k not in cubes}})
    encoding: dict[str, dict[str, Any]] = {
        name: {"chunks": layout.chunks, "shards": layout.shards, "compressors": _compressors(compressor)}
        for name in cubes}
    encoding.update({str(k): {"chunks": v.shape} for k, v in scene.variables.items() if k not in cubes and v.ndim})
    # fixed-width unicode has no zarr v3 spec yet; variable-length UTF-8 has
    scene = scene.assign_coords({k: v.astype(object) for k, v in scene.coords.items() if v.dtype.kind == "U"})
    scene = scene.assign({k: v.astype(object) for k, v in scene.data_vars.items() if v.dtype.kind == "U"})
    for variable in scene.variables.values():
        variable.encoding = {}  # encodings of a store this scene was opened from must not leak in
    try:
        with atomic_output(dest, kind) as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
            # metadata and the small in-memory variables are written now; the lazy ones are left to the writer
            scene.to_zarr(tmp, mode="w-", zarr_format=3, consolidated=False, encoding=encoding, compute=False)
            writer = StoreWriter(tmp, scene, layout, cubes, small_lazy)
            yield writer
            writer._finish()
    except OSError as exc:
        if exc.errno not in _NO_SPACE:
            raise  # other I/O errors may be transient: the caller's retry decides
        raise StoreError(f"{dest}: writing the store failed: {exc.strerror} ({exc.filename or 'a shard'}); "
                         "nothing was replaced, the previous store (if any) is intact") from exc


def _placeholder(variable: xr.DataArray, layout: StoreLayout) -> Any:
    """A lazy array of ``variable``'s shape and dtype in whole shards: to_zarr writes its metadata only."""
    import dask.array as da

    return da.zeros(variable.shape, dtype=variable.dtype, chunks=layout.shards)


#: rows of the cube computed and written at a time (about this many bytes of it): dask orders the tasks
#: within a pass and the passes run one after the other, so a lazy cube's working memory is bounded by one
#: pass and its inputs instead of by how far ahead the scheduler reads (measured by hand on
#: ``benchmarks/scale.py``'s 4 GB cube, not yet recorded there: ``subspace_tv`` peaked at 3.2 GB in one pass,
#: 1.6 GB in passes, in about the same time)
PASS_BYTES = 256 << 20


def write_result(result: xr.Dataset, dest: str | os.PathLike[str], kind: str) -> Path:
    """Write a stage's result (a small dataset without a cube: abundances, anomaly scores) to a zarr v3 store at
    ``dest``, computed and atomically (beside, then renamed in), marked as a ``kind`` output."""
    from .._atomic import atomic_output

    # fixed-width unicode has no zarr v3 encoding yet; variable-length strings do
    result = result.assign_coords({k: v.astype(object) for k, v in result.coords.items() if v.dtype.kind == "U"})
    for variable in result.variables.values():
        variable.encoding = {}
    dest = Path(dest)
    with atomic_output(dest, kind) as tmp:
        result.compute().to_zarr(tmp, mode="w-", zarr_format=3, consolidated=False)
    return dest


def _row_passes(block_rows: tuple[int, ...], shard_rows: int, row_bytes: int,
                pass_bytes: int | None = None) -> list[tuple[int, int]]:
    """``(y0, y1)`` row ranges that cover the cube in order, each of at least ``pass_bytes`` (but the last)
    and whole rows of shards. A pass ends where a block of the lazy cube ends too, so that no block is
    computed twice, unless no such place comes within twice the pass size (then the block across the cut
    is computed for both passes)."""
    height = int(sum(block_rows))
    block_ends = {int(e) for e in np.cumsum(block_rows)}
    target = max(1, -(-(pass_bytes or PASS_BYTES) // max(row_bytes, 1)))
    passes: list[tuple[int, int]] = []
    start = 0
    for end in [*range(shard_rows, height, shard_rows), height]:
        rows = end - start
        if end == height or (rows >= target and (end in block_ends or rows >= 2 * target)):
            passes.append((start, end))
            start = end
    return passes


def _write_shards(array_dir: Path, array: Any, data: Any, first_shard_row: int = 0) -> Any:
    """A lazy array whose computation writes ``data`` (the cube's rows from shard row ``first_shard_row`` on)
    shard by shard (dask blocks are whole shards)."""
    import dask.array as da

    buffers = _shardwriter.ShardBuffers()  # freed with this graph, after the write

    def write(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        row, *others = block_info[0]["chunk-location"]
        _shardwriter.write_shard(array_dir, array, (first_shard_row + row, *others), block, buffers)
        return np.zeros((1,) * block.ndim, dtype=np.uint8)

    return da.map_blocks(write, data, dtype=np.uint8, chunks=tuple((1,) * len(c) for c in data.chunks))


def _cube_array(path: Path) -> Any:
    import zarr

    try:
        group = zarr.open_group(path, mode="r")
        return group[CUBE]
    except (FileNotFoundError, KeyError, zarr.errors.GroupNotFoundError) as exc:
        raise StoreError(
            f"{path}: not a spectraflow store (expected a zarr group with a '{CUBE}' array): {exc}"
        ) from None


def open_store(path: str | os.PathLike[str], chunks: Mapping[str, int] | str = "shards", *,
               max_block_bytes: int | None = None) -> xr.Dataset:
    """Open a store lazily. ``chunks="shards"`` (default) gives dask chunks of one shard each;
    ``max_block_bytes`` splits a shard into strips of whole inner-chunk rows no larger than that (zarr reads
    just those inner chunks), to bound the memory of the tasks that process each block."""
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"store not found: {path}")
    dask_chunks: dict[str, int]
    if isinstance(chunks, str):
        if chunks != "shards":
            raise ConfigError(f"open_store chunks={chunks!r}: expected 'shards' or a mapping of dim to size")
        array = _cube_array(path)
        dask_chunks = dict(zip(("y", "x", "band"), array.shards or array.chunks, strict=True))
        if max_block_bytes is not None:
            row_bytes = dask_chunks["x"] * dask_chunks["band"] * array.dtype.itemsize
            inner_rows = array.chunks[0]
            rows = max(1, max_block_bytes // (row_bytes * inner_rows)) * inner_rows
            dask_chunks["y"] = min(dask_chunks["y"], rows)
    else:
        dask_chunks = dict(chunks)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        warnings.filterwarnings("ignore", message=SMALL_VARIABLES_SPLIT)
        scene = xr.open_zarr(path, chunks=dask_chunks, consolidated=True)
    # coordinates are small: hold them in memory so selections by wavelength need no compute
    return scene.assign_coords({k: v.compute() for k, v in scene.coords.items() if v.chunks is not None})


def count_files(path: str | os.PathLike[str]) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


def store_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What ``spectraflow info`` prints: dims, the spectral axis and its range, chunking, files and provenance."""
    path = Path(path)
    scene = open_store(path)
    array = _cube_array(path)
    cube = scene[CUBE]
    axis = spectral_axis(scene, str(path))
    positions = spectral_positions(scene)
    known = positions[np.isfinite(positions)]
    return {
        "path": str(path),
        "dims": dict(cube.sizes),
        "dtype": str(cube.dtype),
        "spectral_axis": {"name": axis.name, "units": axis.units,
                          "range": [float(known.min()), float(known.max())] if known.size else None},
        "good_bands": int(scene["good_band"].values.sum()),
        "chunks": list(array.chunks),
        "shards": list(array.shards) if array.shards else None,
        "files": count_files(path),
        "bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file()),
        "variables": sorted(map(str, scene.data_vars)),
        "cube_attrs": dict(cube.attrs),
        "provenance": dict(scene.attrs),
    }
