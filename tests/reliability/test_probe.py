"""The defects a hostile probe of the readers and the outputs found, one test each (they failed before the fix):
nothing lost, nothing read from outside the named files, no allocation a tiny file asks for, no hang, and a
spectraflow error naming the file and the field instead of a traceback or silent nonsense."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from spectraflow.errors import (
    ConfigError,
    DataSizeError,
    FormatError,
    OutputConflictError,
    PathEscapeError,
    SpectraflowError,
    StoreError,
)
from spectraflow.io import ingest, open_store, read, tree_sha256, write_envi
from spectraflow.synth import synthetic_scene
from spectraflow.testing.writers import write_geotiff, write_mat_v5, write_mat_v73, write_npy

CLI = [sys.executable, "-m", "spectraflow.cli"]


@pytest.fixture
def cube_file(workspace: Path) -> Path:
    rng = np.random.default_rng(7)
    return write_npy(workspace / "data/raw.npy", rng.random((12, 10, 5)).astype("f4"))


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail instead of hanging: SIGALRM after 20 s interrupts a blocked open."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("hung")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _assert_names(exc: pytest.ExceptionInfo[BaseException], *parts: str) -> None:
    for part in parts:
        assert part in str(exc.value), (part, str(exc.value))


# --- 1. data loss: an output replaces only a previous output of the same kind ---------------------------------

def test_ingest_out_naming_a_directory_of_stores_deletes_nothing(workspace: Path, cube_file: Path) -> None:
    stores = workspace / "data/stores"
    ingest(cube_file, stores / "a.zarr")
    (stores / ".gitignore").write_text("/a.zarr\n")
    before = tree_sha256(stores)
    with pytest.raises(OutputConflictError) as exc:
        ingest(cube_file, stores)
    _assert_names(exc, "data/stores", "not a spectraflow output")
    assert tree_sha256(stores) == before


def test_ingest_out_naming_the_raw_data_directory_deletes_nothing(workspace: Path, cube_file: Path) -> None:
    before = tree_sha256(workspace / "data")
    with pytest.raises(OutputConflictError):
        ingest(cube_file, workspace / "data")
    assert tree_sha256(workspace / "data") == before and cube_file.is_file()


def test_a_store_of_another_stage_is_not_replaced(workspace: Path, cube_file: Path) -> None:
    from spectraflow.preprocess import parse_steps, preprocess_store

    scene = ingest(cube_file, workspace / "data/scene.zarr")
    before = tree_sha256(scene)
    with pytest.raises(OutputConflictError) as exc:  # preprocess.out equal to its own input
        preprocess_store(scene, scene, parse_steps([{"normalize": {"method": "minmax"}}]))
    _assert_names(exc, "scene.zarr", "'scene' output", "'preprocessed'")
    assert tree_sha256(scene) == before


def test_a_previous_store_of_the_same_kind_is_replaced(workspace: Path, cube_file: Path) -> None:
    store = ingest(cube_file, workspace / "data/scene.zarr")
    other = write_npy(workspace / "data/other.npy", np.ones((3, 4, 2), "f4"))
    ingest(other, store)
    assert open_store(store)["cube"].shape == (3, 4, 2)


def test_out_naming_an_existing_file_is_refused_before_any_work(workspace: Path, cube_file: Path) -> None:
    target = workspace / "notes.txt"
    target.write_text("mine\n")
    run = subprocess.run([*CLI, "ingest", str(cube_file), "--out", str(target)], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "notes.txt" in " ".join(run.stderr.split())
    assert target.read_text() == "mine\n"
    assert sorted(p.name for p in workspace.iterdir()) == ["data", "notes.txt"]  # no .partial-* store beside it


def test_the_command_line_writes_where_it_is_told(workspace: Path, cube_file: Path,
                                                  tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("scratch") / "x.zarr"  # outside data/: the user's own path
    run = subprocess.run([*CLI, "ingest", str(cube_file), "--out", str(elsewhere)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    np.testing.assert_array_equal(open_store(elsewhere)["cube"].values, np.load(cube_file))
    confined = subprocess.run([*CLI, "ingest", str(cube_file), "--out", str(elsewhere.with_name("y.zarr")),
                               "--data-root", "data"], capture_output=True, text=True)
    assert confined.returncode == 2 and "expected a path inside" in confined.stderr


def test_checkpoints_and_stores_are_marked_with_their_kind(workspace: Path, cube_file: Path) -> None:
    from spectraflow._atomic import output_kind
    from spectraflow.train import save_checkpoint

    store = ingest(cube_file, workspace / "data/scene.zarr")
    assert output_kind(store) == "scene"
    with pytest.raises(OutputConflictError):
        save_checkpoint(store, {}, {"family": "denoiser", "name": "x", "config": {}})
    assert open_store(store)["cube"].shape == (12, 10, 5)


# --- 2. reads never escape the named files ---------------------------------------------------------------------

def test_hdf5_external_raw_storage_is_refused(workspace: Path) -> None:
    import h5py

    secret = workspace / "secret.bin"
    secret.write_bytes(np.arange(4 * 4 * 3, dtype="<f4").tobytes())
    path = workspace / "data/ext.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", shape=(4, 4, 3), dtype="<f4", external=[(str(secret), 0, h5py.h5f.UNLIMITED)])
    with pytest.raises(FormatError) as exc:
        ingest(path, workspace / "data/ext.zarr")
    _assert_names(exc, "ext.h5", "/data", "external raw storage")
    assert not (workspace / "data/ext.zarr").exists()


def test_hdf5_external_links_and_virtual_datasets_are_refused(workspace: Path) -> None:
    import h5py

    other = workspace / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("cube", data=np.ones((4, 4, 3), "f4"))
    linked = workspace / "data/linked.h5"
    with h5py.File(linked, "w") as f:
        f["cube"] = h5py.ExternalLink(str(other), "/cube")
    virtual = workspace / "data/virtual.h5"
    layout = h5py.VirtualLayout(shape=(4, 4, 3), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "cube", shape=(4, 4, 3))
    with h5py.File(virtual, "w") as f:
        f.create_virtual_dataset("cube", layout)
    for path, what in ((linked, "external links"), (virtual, "virtual datasets")):
        with pytest.raises(FormatError) as exc:
            read(path)
        _assert_names(exc, path.name, what)


def test_an_envi_raw_file_that_is_a_symlink_is_refused(workspace: Path) -> None:
    scene = synthetic_scene(1, height=8, width=8)
    (workspace / "elsewhere").mkdir()
    header, raw = write_envi(workspace / "elsewhere/x.img", scene["cube"].values, wavelength=scene["wavelength"].values)
    (workspace / "data/x.hdr").write_bytes(header.read_bytes())
    os.symlink(raw, workspace / "data/x.img")
    with pytest.raises(FormatError) as exc:
        read(workspace / "data/x.hdr")
    _assert_names(exc, "x.img", "symbolic link")


def test_a_params_source_through_a_symlink_out_of_the_workspace_is_refused(workspace: Path) -> None:
    from spectraflow.config import IngestConfig
    from tasks.ingest import ingest_file

    outside = workspace.parent / f"{workspace.name}-outside"
    outside.mkdir()
    write_npy(outside / "scene.npy", np.ones((4, 4, 3), "f4"))
    os.symlink(outside, workspace / "data/link")
    config = IngestConfig(source_dir="data/link", source="scene.npy", ground_truth=None, out="data/stores/s.zarr")
    with pytest.raises(PathEscapeError) as exc:
        ingest_file.fn(config)
    _assert_names(exc, "ingest.source", "data/link/scene.npy", "expected a path inside")


# --- 3. memory: a tiny file's declaration is checked before any allocation ------------------------------------

def _peak_of(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(DataSizeError):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_tiny_files_declaring_huge_arrays_are_refused_without_allocating(workspace: Path) -> None:
    import h5py

    v73 = workspace / "data/big.mat"
    write_mat_v73(v73, {"x": np.zeros(1)})
    with h5py.File(v73, "r+") as f:  # a chunked dataset never written: the file stays tiny
        del f["x"]
        f.create_dataset("cube", shape=(1000, 1000, 100), dtype="f8", chunks=(10, 10, 10))
    chunked = workspace / "data/big.h5"
    with h5py.File(chunked, "w") as f:
        f.create_dataset("cube", shape=(10**6, 10**6, 1), dtype="f4", chunks=(64, 64, 1))
    tif = write_geotiff(workspace / "data/big.tif", np.zeros((2, 2, 3), "u1"), None)
    data = bytearray(tif.read_bytes())  # patch the image width and length tags (256, 257) to 65535
    for tag in (256, 257):
        for at in range(8, len(data) - 12, 2):
            if struct.unpack_from("<HH", data, at) == (tag, 3) and struct.unpack_from("<I", data, at + 4)[0] == 1:
                struct.pack_into("<H", data, at + 8, 65535)
                break
    tif.write_bytes(bytes(data))
    for path in (v73, chunked, tif):
        assert path.stat().st_size < 1 << 20
        peak = _peak_of(lambda p=path: ingest(p, workspace / f"data/{p.stem}.zarr"))
        assert peak < 50 << 20, (path.name, peak)


def test_a_compression_bomb_is_refused(workspace: Path) -> None:
    import h5py

    path = workspace / "data/bomb.h5"
    with h5py.File(path, "w") as f:  # 128 MiB of zeros in a few hundred kilobytes
        f.create_dataset("cube", data=np.zeros((512, 512, 128), "f4"), chunks=(512, 512, 8), compression="gzip",
                         compression_opts=9)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(DataSizeError) as exc:
        read(path)
    _assert_names(exc, "bomb.h5", "/cube")


def test_a_yaml_alias_bomb_in_params_is_refused(workspace: Path) -> None:
    from spectraflow.config import load_params

    rows = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    rows += [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
    (workspace / "params.yaml").write_text("\n".join(rows) + "\n")
    with pytest.raises(ConfigError) as exc:
        load_params(workspace / "params.yaml")
    _assert_names(exc, "params.yaml", "line 2", "alias")


# --- 4. no hang, nothing left behind --------------------------------------------------------------------------

@pytest.mark.parametrize("entry", ["read", "ingest", "cli"])
def test_a_fifo_is_refused_at_once(workspace: Path, no_hang: None, entry: str) -> None:
    fifo = workspace / "data/pipe.hdr"
    os.mkfifo(fifo)
    if entry == "cli":
        run = subprocess.run([*CLI, "ingest", str(fifo), "--out", "data/p.zarr"], capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 2 and "FIFO" in run.stderr
        return
    with pytest.raises(FormatError) as exc:
        read(fifo) if entry == "read" else ingest(fifo, workspace / "data/p.zarr")
    _assert_names(exc, "pipe.hdr", "file type", "FIFO")


def test_a_failed_write_leaves_no_temporary_while_writers_still_run(workspace: Path) -> None:
    """The write's cleanup races the shard writers still running in other threads: none may recreate it."""
    import dask

    from spectraflow.io import _shardwriter, write_store
    from spectraflow.io._store import StoreLayout

    calls = {"n": 0}
    lock = threading.Lock()
    real = _shardwriter.write_shard

    def failing(*args: object) -> None:
        with lock:
            calls["n"] += 1
            n = calls["n"]
        if n == 3:
            raise OSError(28, "No space left on device (injected)")
        threading.Event().wait(0.05)  # still writing when the cleanup runs
        real(*args)  # type: ignore[arg-type]

    scene = synthetic_scene(2, height=64, width=64)
    _shardwriter.write_shard, original = failing, _shardwriter.write_shard  # type: ignore[assignment]
    try:
        with dask.config.set(scheduler="threads", num_workers=4), pytest.raises(StoreError):
            write_store(scene, workspace / "data/s.zarr", layout=StoreLayout((8, 8, 224), (8, 64, 224)))
    finally:
        _shardwriter.write_shard = original
    threading.Event().wait(0.5)  # let the last writers finish
    assert sorted(p.name for p in (workspace / "data").iterdir()) == []


# --- 5. tracebacks and silent nonsense become errors naming the file and the field -----------------------------

def _envi(workspace: Path, **fields: str) -> Path:
    scene = synthetic_scene(1, height=4, width=4)
    header, _ = write_envi(workspace / "data/e.img", scene["cube"].values, wavelength=scene["wavelength"].values)
    text = header.read_text()
    for key, value in fields.items():
        key = key.replace("_", " ")
        lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
        text = "\n".join([*lines, f"{key} = {value}"]) + "\n"
    header.write_text(text)
    return header


@pytest.mark.parametrize(("fields", "field"), [
    ({"samples": "4_0"}, "samples"), ({"lines": "+4"}, "lines"), ({"bands": "\u0664"}, "bands"),
    ({"reflectance_scale_factor": "nan"}, "reflectance scale factor"),
    ({"reflectance_scale_factor": "0"}, "reflectance scale factor"),
    ({"wavelength": "{" + ", ".join(["500"] * 223 + ["nan"]) + "}"}, "wavelength"),
    ({"wavelength": "{" + ", ".join(["500"] * 223 + ["inf"]) + "}"}, "wavelength"),
])
def test_envi_header_nonsense_is_refused(workspace: Path, fields: dict[str, str], field: str) -> None:
    header = _envi(workspace, **fields)
    with pytest.raises(FormatError) as exc:
        read(header)
    _assert_names(exc, "e.hdr", field)


def _npy_with_header(path: Path, header: str) -> Path:
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad + b"\n"
                     + b"\0" * 64)
    return path


@pytest.mark.parametrize(("make", "field"), [
    (lambda d: write_npy(d / "z.npy", np.zeros((0, 4, 3), "f4")), "shape"),
    (lambda d: _npy_with_header(d / "z.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 4, 3), }"),
     "shape"),
    (lambda d: _npy_with_header(d / "z.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4, 3"), "header"),
    (lambda d: write_mat_v5(d / "z.mat", {"x": np.ones((3, 4, 2)) * (1 + 1j)}), "real numbers"),
    (lambda d: write_mat_v5(d / "z.mat", {"M": np.ones((5, 6)), "nRow": np.array(-2.0), "nCol": np.array(3.0)}),
     "nRow"),
    (lambda d: write_mat_v5(d / "z.mat", {"M": np.ones((5, 6)), "nRow": np.array(np.nan), "nCol": np.array(3.0)}),
     "nRow"),
])
def test_bad_arrays_are_refused_naming_the_file(workspace: Path, make: Callable[[Path], Path], field: str) -> None:
    path = make(workspace / "data")
    with pytest.raises(FormatError) as exc:
        ingest(path, workspace / "data/out.zarr")
    _assert_names(exc, path.name, field)
    assert not (workspace / "data/out.zarr").exists()


@pytest.mark.parametrize("version", ["v5", "v7.3"])
def test_a_truncated_mat_file_is_a_format_error_not_retried(workspace: Path, version: str) -> None:
    cube = np.random.default_rng(1).random((20, 20, 8))
    path = (write_mat_v5 if version == "v5" else write_mat_v73)(workspace / "data/t.mat", {"cube": cube})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SpectraflowError) as exc:
        ingest(path, workspace / "data/t.zarr")
    assert "t.mat" in str(exc.value)


def test_a_ground_truth_file_that_is_not_hdf5_is_a_format_error(workspace: Path, cube_file: Path) -> None:
    truth = workspace / "data/truth.nc"
    truth.write_text("not a netcdf file\n")
    with pytest.raises(FormatError) as exc:
        ingest(cube_file, workspace / "data/s.zarr", ground_truth=truth)
    _assert_names(exc, "truth.nc")


def test_wavelengths_stored_as_bytes_are_refused(workspace: Path) -> None:
    import h5py

    path = workspace / "data/w.nc"
    with h5py.File(path, "w") as f:
        f.create_dataset("band", data=np.arange(3))
        f["band"].make_scale("band")
        f.create_dataset("reflectance", data=np.ones((4, 4, 3), "f4"))
        f.create_dataset("wavelength", data=np.array([b"400", b"500", b"600"]))
        f["wavelength"].dims[0].attach_scale(f["band"])
    with pytest.raises(FormatError) as exc:
        read(path, dims=("y", "x", "band"))
    _assert_names(exc, "w.nc", "wavelength")


def test_geotiff_wavelength_tags_that_do_not_parse_are_refused(workspace: Path) -> None:
    import rasterio

    path = write_geotiff(workspace / "data/g.tif", np.ones((4, 4, 3), "u2"), np.array([400.0, 500.0, 600.0]))
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(2, wavelength="five hundred")
    with pytest.raises(FormatError) as exc:
        read(path)
    _assert_names(exc, "g.tif", "band 2 wavelength")


@pytest.mark.parametrize(("key", "value"), [("name", 123), ("source", 5), ("format", ["envi"])])
def test_params_of_the_wrong_type_name_the_key(key: str, value: object) -> None:
    from spectraflow.config import IngestConfig, from_mapping

    with pytest.raises(ConfigError) as exc:
        from_mapping(IngestConfig, {key: value}, "ingest")
    _assert_names(exc, "[ingest]", f"{key}={value!r}", "expected")


def test_hdf5_metadata_that_send_the_library_into_a_loop_are_refused(workspace: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by benchmarks/reliability.py: a damaged NetCDF-4 heap on which h5py's attribute read never returns
    (in C: no signal interrupts it). The metadata walk runs in a child that is killed after the limit."""
    import time

    from spectraflow import _guard
    from spectraflow.testing.hostile import mutate, valid_file

    path = valid_file(workspace / "data", "netcdf4", 255)
    path.write_bytes(mutate(path.read_bytes(), np.random.default_rng(255)))  # the case the benchmark hung on
    monkeypatch.setattr(_guard, "HDF5_PARSE_SECONDS", 5)
    start = time.monotonic()
    with pytest.raises(FormatError) as exc:
        ingest(path, workspace / "data/out.zarr")
    assert time.monotonic() - start < 30
    _assert_names(exc, "cube.nc", "did not end")
