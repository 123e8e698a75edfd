"""The store: sharded layout, file counts, atomic replacement, and survival of kill -9 mid-write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr

from spectraflow.errors import NonFiniteDataError, StoreError
from spectraflow.io import (
    StoreLayout,
    count_files,
    ingest,
    open_store,
    store_info,
    store_layout,
    tree_sha256,
    write_envi,
)


@pytest.mark.parametrize("shape,itemsize", [((1000, 1000, 224), 4), ((95, 95, 156), 8), ((10, 10, 432), 4),
                                            ((4000, 600, 425), 2), ((1, 7, 3), 1)])
def test_layout_whole_spectra_and_sizes(shape: tuple[int, int, int], itemsize: int) -> None:
    layout = store_layout(shape, itemsize)
    assert layout.chunks[2] == shape[2] and layout.shards[2] == shape[2]  # whole spectra
    for c, s in zip(layout.chunks, layout.shards, strict=True):
        assert s % c == 0
    chunk_bytes = np.prod(layout.chunks) * itemsize
    assert chunk_bytes <= 2 << 20 or layout.chunks[:2] == (1, 1)
    n_shards = np.prod([-(-n // s) for n, s in zip(shape, layout.shards, strict=True)])
    cube_bytes = np.prod(shape) * itemsize
    if cube_bytes >= 1 << 30:
        assert n_shards <= 100 * cube_bytes / (1 << 30)


def test_store_is_sharded_and_aligned(tmp_path: Path) -> None:
    rng = np.random.default_rng()
    cube = rng.random((300, 260, 50)).astype("float32")
    header, _ = write_envi(tmp_path / "s.img", cube)
    store = ingest(header, tmp_path / "s.zarr", layout=StoreLayout((25, 25, 50), (100, 100, 50)))
    array = zarr.open_group(store, mode="r")["cube"]
    assert array.chunks == (25, 25, 50) and array.shards == (100, 100, 50)
    assert array.compressors == ()
    assert count_files(store / "cube" / "c") == 3 * 3  # one file per shard
    scene = open_store(store)
    assert scene["cube"].data.chunks[0][0] == 100  # dask chunks aligned to shards, not inner chunks
    np.testing.assert_array_equal(scene["cube"].values, cube)
    assert (store / "zarr.json").read_text().count("consolidated_metadata") == 1
    info = store_info(store)
    assert info["files"] == count_files(store) and info["shards"] == [100, 100, 50]


def test_failed_ingest_keeps_previous_store(tmp_path: Path) -> None:
    good = np.ones((20, 20, 3), "float32")
    store = ingest(write_envi(tmp_path / "a.img", good)[0], tmp_path / "s.zarr")
    before = tree_sha256(store)
    bad = good.copy()
    bad[19, 19, 2] = np.nan  # in the last block: the write has started when it is found
    with pytest.raises(NonFiniteDataError):
        ingest(write_envi(tmp_path / "b.img", bad)[0], tmp_path / "s.zarr",
               layout=StoreLayout((5, 5, 3), (10, 10, 3)))
    assert tree_sha256(store) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.hdr", "a.img", "b.hdr", "b.img", "s.zarr"]


def test_replacing_a_store_swaps_it_whole(tmp_path: Path) -> None:
    first = ingest(write_envi(tmp_path / "a.img", np.zeros((8, 8, 2), "int16"))[0], tmp_path / "s.zarr")
    ingest(write_envi(tmp_path / "b.img", np.full((8, 8, 2), 7, "int16"))[0], first)
    assert (open_store(first)["cube"].values == 7).all()
    assert [p.name for p in tmp_path.glob(".s.zarr*")] == []


KILLER = """
import os, signal, sys
from dask.callbacks import Callback
from spectraflow.io import StoreLayout, ingest, tree_sha256

class KillAfter(Callback):
    def __init__(self, n):
        super().__init__(); self.n = n
    def _posttask(self, key, result, dsk, state, worker_id):
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), signal.SIGKILL)

with KillAfter(int(sys.argv[3])):
    ingest(sys.argv[1], sys.argv[2], layout=StoreLayout((8, 8, 4), (16, 16, 4)))
"""


@pytest.mark.parametrize("kill_after", [1, 5, 11])
def test_kill_9_mid_ingest_leaves_previous_store(tmp_path: Path, kill_after: int) -> None:
    rng = np.random.default_rng(kill_after)
    old = ingest(write_envi(tmp_path / "old.img", rng.random((64, 64, 4)).astype("f4"))[0], tmp_path / "s.zarr")
    before = tree_sha256(old)
    header, _ = write_envi(tmp_path / "new.img", rng.random((64, 64, 4)).astype("f4"))
    proc = subprocess.run([sys.executable, "-c", KILLER, str(header), str(old), str(kill_after)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert tree_sha256(old) == before
    assert open_store(old)["cube"].shape == (64, 64, 4)
    leftovers = list(tmp_path.glob(".s.zarr.partial-*"))
    assert leftovers, "the killed writer's partial store should sit beside, not at, the destination"
    ingest(header, old)  # the next write cleans up after the dead one
    assert list(tmp_path.glob(".s.zarr.partial-*")) == []


def test_open_store_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not found"):
        open_store(tmp_path / "nothing.zarr")
    zarr.open_group(tmp_path / "empty.zarr", mode="w")
    with pytest.raises(StoreError, match="cube"):
        open_store(tmp_path / "empty.zarr")


@pytest.mark.parametrize("compressor", ["none", "zstd"])
def test_a_store_writer_writes_cube_variables_one_at_a_time_in_strips(tmp_path: Path, compressor: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cube-sized variable is written a strip of shards at a time (sharded, or encoded by zarr when
    compressed), can be read back before the store is moved into place, and a variable never written fails the
    store (nothing appears at the destination)."""
    import dask.array as da

    from spectraflow.cube import make_scene
    from spectraflow.io import _store, store_writer

    monkeypatch.setattr(_store, "PASS_BYTES", 8 * 20 * 6 * 4)  # strips of whole shard rows, several per cube
    rng = np.random.default_rng(0)
    first, second = rng.random((40, 20, 6)).astype(np.float32), rng.random((40, 20, 6)).astype(np.float32)
    dims = ("y", "x", "band")
    scene = make_scene(first, wavelength=np.linspace(400, 900, 6))
    scene = scene.assign(other=(dims, second), mask=(("y", "x"), first[..., 0] > 0.5))
    layout = StoreLayout((8, 20, 6), (8, 20, 6))
    with store_writer(scene, tmp_path / "a.zarr", compressor=compressor, layout=layout) as writer:
        assert writer.cubes == ["cube", "other"]
        writer.write("cube", da.from_array(first, chunks=(7, 20, 6)))
        np.testing.assert_array_equal(writer.open()["cube"].values, first)  # read back before the rename
        assert not (tmp_path / "a.zarr").exists()
        writer.write("other", writer.open()["cube"].data * 2)
        writer.attrs["note"] = "written"
    out = open_store(tmp_path / "a.zarr")
    np.testing.assert_array_equal(out["cube"].values, first)
    np.testing.assert_array_equal(out["other"].values, first * 2)
    np.testing.assert_array_equal(out["mask"].values, first[..., 0] > 0.5)
    assert out.attrs["note"] == "written"
    with pytest.raises(ValueError, match="never written"), store_writer(scene, tmp_path / "b.zarr",
                                                                        layout=layout) as writer:
        writer.write("cube", first)
    assert not (tmp_path / "b.zarr").exists() and list(tmp_path.iterdir()) == [tmp_path / "a.zarr"]


def test_tree_sha256_names_sizes_and_bytes_of_every_file_and_no_bytecode(tmp_path):
    """A directory's digest equals one written out by hand from its files' names, sizes and bytes (sorted); a
    renamed or changed file changes it, a bytecode cache does not; a file's digest covers its name too."""
    import hashlib

    rng = np.random.default_rng()
    files = {"b.bin": rng.bytes(int(rng.integers(1, 5000))), "a/c.txt": rng.bytes(int(rng.integers(0, 100)))}
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    by_hand = hashlib.sha256(b"".join(f"{n}\0{len(files[n])}\0".encode() + files[n] for n in sorted(files)))
    assert tree_sha256(tmp_path) == by_hand.hexdigest()
    (tmp_path / "a/__pycache__").mkdir()
    (tmp_path / "a/__pycache__/c.cpython-311.pyc").write_bytes(b"cache")
    (tmp_path / "d.pyc").write_bytes(b"cache")
    assert tree_sha256(tmp_path) == by_hand.hexdigest()
    (tmp_path / "b.bin").rename(tmp_path / "e.bin")
    assert tree_sha256(tmp_path) != by_hand.hexdigest()
    data = files["b.bin"]
    assert tree_sha256(tmp_path / "e.bin") == hashlib.sha256(f"e.bin\0{len(data)}\0".encode() + data).hexdigest()
    with pytest.raises(FileNotFoundError, match="b.bin"):
        tree_sha256(tmp_path / "b.bin")
