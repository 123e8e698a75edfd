"""The direct shard writer against zarr itself: zarr must read back exactly what was written."""

from __future__ import annotations

import errno
import fcntl
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
import zarr

from spectraflow.cube import make_scene
from spectraflow.io import StoreLayout, _shardwriter, open_store, write_store


@pytest.mark.parametrize("dtype", ["float32", "int16", "uint8", "float64"])
@pytest.mark.parametrize("shape,layout", [
    ((40, 30, 6), StoreLayout((8, 10, 6), (16, 20, 6))),   # edge shards and partly-filled inner chunks
    ((17, 23, 5), StoreLayout((5, 7, 5), (10, 14, 5))),
    ((16, 20, 6), StoreLayout((8, 10, 6), (16, 20, 6))),   # one exact shard
    ((3, 50, 4), StoreLayout((3, 9, 4), (3, 36, 4))),
])
def test_zarr_reads_back_what_the_shard_writer_wrote(tmp_path: Path, dtype: str, shape: tuple[int, int, int],
                                                      layout: StoreLayout) -> None:
    rng = np.random.default_rng()
    values = (rng.random(shape) * 100).astype(dtype)
    store = write_store(make_scene(values), tmp_path / "s.zarr", layout=layout)
    array = zarr.open_array(store / "cube", mode="r")
    assert _shardwriter.supports(array)  # the fast path was taken
    np.testing.assert_array_equal(array[...], values)
    np.testing.assert_array_equal(array[2:9, 5:17, 1:3], values[2:9, 5:17, 1:3])  # partial reads use the index
    np.testing.assert_array_equal(open_store(store)["cube"].values, values)


def test_compressed_layout_goes_through_zarr(tmp_path: Path) -> None:
    values = np.random.default_rng().random((20, 20, 4)).astype("float32")
    store = write_store(make_scene(values), tmp_path / "s.zarr", compressor="lz4")
    array = zarr.open_array(store / "cube", mode="r")
    assert not _shardwriter.supports(array)
    np.testing.assert_array_equal(array[...], values)
    assert isinstance(open_store(store), xr.Dataset)


@pytest.mark.parametrize("shape,chunks", [((16, 20, 6), (8, 10, 6)), ((13, 17, 6), (8, 10, 6)),
                                          ((5, 7, 3), (8, 10, 4)), ((9, 31, 5), (3, 9, 5))])
def test_shard_layout_equals_pad_then_reorder_in_a_dirty_buffer(shape: tuple[int, ...],
                                                                chunks: tuple[int, ...]) -> None:
    """Inner chunks in C order, the edge padded with the fill value: the same bytes as padding the whole block
    and reordering it (the plain reference), even in a reused buffer that holds the previous shard's data."""
    rng = np.random.default_rng()
    block = rng.random(shape).astype("float32")
    present = tuple(-(-b // c) for b, c in zip(shape, chunks, strict=True))
    padded = np.full([p * c for p, c in zip(present, chunks, strict=True)], -7.0, dtype="float32")
    padded[tuple(slice(0, b) for b in shape)] = block
    split = padded.reshape([v for p, c in zip(present, chunks, strict=True) for v in (p, c)])
    reference = split.transpose(0, 2, 4, 1, 3, 5)
    out = rng.random(present + chunks).astype("float32")  # stale contents
    _shardwriter._lay_out(block, chunks, present, -7.0, out)
    np.testing.assert_array_equal(out, reference)


def test_rewriting_a_store_is_byte_identical(tmp_path: Path) -> None:
    """Shard bytes do not depend on what the reused buffer held before (edge shards included)."""
    values = np.random.default_rng().random((37, 29, 5)).astype("float32")
    layout = StoreLayout((8, 10, 5), (16, 20, 5))
    first = write_store(make_scene(values), tmp_path / "a.zarr", layout=layout)
    write_store(make_scene(values[::-1].copy()), tmp_path / "other.zarr", layout=layout)
    second = write_store(make_scene(values), tmp_path / "b.zarr", layout=layout)
    shards = sorted(p.relative_to(first) for p in (first / "cube" / "c").rglob("*") if p.is_file())
    assert len(shards) == 6
    for shard in shards:
        assert (first / shard).read_bytes() == (second / shard).read_bytes()


@pytest.mark.skipif(not hasattr(os, "O_DIRECT"), reason="no direct I/O on this platform")
@pytest.mark.parametrize("refused_at", ["open", "write"])
def test_a_file_system_refusing_direct_io_gets_the_same_bytes_buffered(tmp_path: Path, refused_at: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards go to the disk with O_DIRECT where the file system takes it; one that refuses it (EINVAL, at the
    open or at the first write) gets a buffered write of the same bytes."""
    values = np.random.default_rng().random((37, 29, 5)).astype("float32")
    layout = StoreLayout((8, 10, 5), (16, 20, 5))
    direct = write_store(make_scene(values), tmp_path / "direct.zarr", layout=layout)
    real_open, real_write, refusals = os.open, os.write, []

    def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if refused_at == "open" and flags & os.O_DIRECT:
            refusals.append(path)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args, **kwargs)

    def refusing_write(fd: int, data: Any) -> int:
        if refused_at == "write" and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refusals.append(fd)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.setattr(os, "write", refusing_write)
    buffered = write_store(make_scene(values), tmp_path / "buffered.zarr", layout=layout)
    monkeypatch.undo()
    shards = sorted(p.relative_to(direct) for p in (direct / "cube" / "c").rglob("*") if p.is_file())
    assert len(shards) == len(refusals) == 6
    for shard in shards:
        assert (direct / shard).read_bytes() == (buffered / shard).read_bytes()
    np.testing.assert_array_equal(open_store(buffered)["cube"].values, values)


def test_shard_buffers_travel_to_process_workers_as_fresh_caches() -> None:
    buffers = _shardwriter.ShardBuffers()
    assert buffers.get(64).ctypes.data % 4096 == 0  # aligned for direct I/O
    copy = pickle.loads(pickle.dumps(buffers))  # what a process cluster does with the write's tasks
    assert isinstance(copy, _shardwriter.ShardBuffers) and copy.get(16).nbytes == 16


def test_a_lazy_cube_is_written_in_passes_of_whole_blocks_and_shards(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows of shards are computed pass by pass (bounded memory), each block of the lazy cube once, and the
    small lazy variables derived from the cube land where they belong: the store equals the in-memory scene."""
    import dask
    import dask.array as da
    from dask.callbacks import Callback

    from spectraflow.io import _store

    rng = np.random.default_rng()
    values = rng.random((60, 11, 4)).astype("float32")
    calls: list[int] = []

    def block(x: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        calls.append(block_info[0]["chunk-location"][0])
        return x * 2

    cube = da.from_array(values, chunks=(12, 11, 4)).map_blocks(block, dtype=np.float32)
    scene = make_scene(cube)
    scene["bright"] = (("y", "x"), (scene["cube"] > 1).any("band").data)  # lazy, derived from the cube
    scene["band_peak"] = (("band",), scene["cube"].max(("y", "x")).data)
    row_bytes = 11 * 4 * 4
    monkeypatch.setattr(_store, "PASS_BYTES", 20 * row_bytes)
    passes = _store._row_passes((12,) * 5, 6, row_bytes)
    assert passes == [(0, 24), (24, 48), (48, 60)]  # 20 rows, rounded up to where a block and a shard end
    assert _store._row_passes((12,) * 5, 5, row_bytes) == [(0, 40), (40, 60)]  # none within 2×: cut anyway
    computations: list[int] = []
    with Callback(start=lambda dsk: computations.append(len(dsk))), dask.config.set(scheduler="threads"):
        store = write_store(scene, tmp_path / "s.zarr", layout=StoreLayout((3, 11, 4), (6, 11, 4)))
    assert len(computations) == len(passes) + 1  # one per pass, one for the variables without rows
    # the passes compute every block once; a variable without rows (band_peak) costs a pass of its own
    assert sorted(calls[:5]) == [0, 1, 2, 3, 4] and sorted(calls[5:]) == [0, 1, 2, 3, 4]
    written = open_store(store)
    np.testing.assert_array_equal(written["cube"].values, values * 2)
    np.testing.assert_array_equal(written["bright"].values, (values * 2 > 1).any(axis=2))
    np.testing.assert_array_equal(written["band_peak"].values, (values * 2).max(axis=(0, 1)))
