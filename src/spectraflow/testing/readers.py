"""The conformance suite every reader passes.

Subclass :class:`ReaderConformance` in a test module, set ``reader_name`` and the dtypes to try, and
implement :meth:`write`: the base class then checks detection by content, exact round-trip of fresh random
data, dims and coordinates, provenance, laziness, and ingest into a store.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from .. import __version__
from ..cube import CUBE, DIMS
from ..io import detect_format, ingest, open_store, read, readers

__all__ = ["ReaderConformance", "random_cube"]


def random_cube(rng: np.random.Generator, shape: tuple[int, int, int], dtype: Any) -> np.ndarray:
    """Fresh random values spanning a good part of ``dtype``'s range."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return rng.uniform(-1.0, 2.0, shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -30000), min(info.max, 60000), shape, endpoint=True).astype(dtype)


class ReaderConformance:
    """Base class of a reader's conformance tests."""

    reader_name: ClassVar[str]
    dtypes: ClassVar[tuple[str, ...]] = ("float32",)
    shape: ClassVar[tuple[int, int, int]] = (13, 11, 7)
    #: whether the format carries wavelengths that must come back
    carries_wavelength: ClassVar[bool] = True
    #: whether the scene is one file (ENVI is a pair)
    single_file: ClassVar[bool] = True

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        """Write ``cube`` (y, x, band) in this format; return the path to pass to the reader."""
        raise NotImplementedError

    # --- helpers -------------------------------------------------------------------------------------
    @pytest.fixture
    def rng(self) -> np.random.Generator:
        seed = int(np.random.default_rng().integers(1 << 32))  # fresh data each run, reported on failure
        print(f"conformance seed {seed}")
        return np.random.default_rng(seed)

    def _case(self, tmp_path: Path, rng: np.random.Generator, dtype: str) -> tuple[Path, np.ndarray, np.ndarray]:
        cube = random_cube(rng, self.shape, dtype)
        wavelength = np.sort(rng.uniform(400, 2500, self.shape[2])).round(3)
        return self.write(tmp_path, cube, wavelength), cube, wavelength

    # --- the suite ------------------------------------------------------------------------------------
    def test_registered_and_detected_by_content(self, tmp_path: Path, rng: np.random.Generator) -> None:
        path, _, _ = self._case(tmp_path, rng, self.dtypes[0])
        assert self.reader_name in readers
        assert readers.get(self.reader_name).sniff(path)
        assert detect_format(path) == self.reader_name
        if self.single_file:  # a misleading extension is only a hint: the content decides
            disguised = path.rename(path.with_name("disguised.dat"))
            assert detect_format(disguised) == self.reader_name

    def test_round_trip_values(self, tmp_path: Path, rng: np.random.Generator) -> None:
        for dtype in self.dtypes:
            directory = tmp_path / dtype
            directory.mkdir()
            path, cube, _ = self._case(directory, rng, dtype)
            scene = read(path)
            assert scene[CUBE].dims == DIMS
            assert scene[CUBE].dtype == np.dtype(dtype)
            np.testing.assert_array_equal(scene[CUBE].values, cube)

    def test_coordinates(self, tmp_path: Path, rng: np.random.Generator) -> None:
        path, _, wavelength = self._case(tmp_path, rng, self.dtypes[0])
        scene = read(path)
        assert scene["wavelength"].dims == ("band",)
        assert scene["wavelength"].attrs["units"] == "nm"
        assert scene["good_band"].dtype == bool
        if self.carries_wavelength:
            np.testing.assert_allclose(scene["wavelength"].values, wavelength, rtol=1e-6)
        else:
            assert np.isnan(scene["wavelength"].values).all()

    def test_provenance(self, tmp_path: Path, rng: np.random.Generator) -> None:
        path, _, _ = self._case(tmp_path, rng, self.dtypes[0])
        scene = read(path, name="probe")
        reader = readers.get(self.reader_name)()
        files = reader.source_files(path)
        entries = json.loads(scene.attrs["source_files"])
        assert [e["name"] for e in entries] == [f.name for f in files]
        for entry, f in zip(entries, files, strict=True):
            assert entry["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
            assert entry["size"] == f.stat().st_size
        assert scene.attrs["source_sha256"] == entries[0]["sha256"]
        assert scene.attrs["reader"] == self.reader_name
        assert scene.attrs["reader_version"]
        assert scene.attrs["spectraflow_version"] == __version__
        assert scene.attrs["name"] == "probe"
        assert scene.attrs["created"].endswith("+00:00")

    def test_lazy_and_chunked_as_asked(self, tmp_path: Path, rng: np.random.Generator) -> None:
        import dask.array as da

        path, cube, _ = self._case(tmp_path, rng, self.dtypes[0])
        scene = read(path, chunks={"y": 5, "x": 4, "band": -1})
        data = scene[CUBE].data
        assert isinstance(data, da.Array)
        assert data.chunks[0][0] == 5 and data.chunks[1][0] == 4 and data.chunks[2] == (self.shape[2],)
        np.testing.assert_array_equal(data.blocks[1, 2].compute(), cube[5:10, 8:11])

    def test_chunks_chosen_from_the_shape(self, tmp_path: Path, rng: np.random.Generator) -> None:
        path, cube, _ = self._case(tmp_path, rng, self.dtypes[0])
        seen = []

        def by_shape(shape: tuple[int, int, int], itemsize: int) -> dict[str, int]:
            seen.append((shape, itemsize))
            return {"y": shape[0] // 2, "x": 3}

        data = read(path, chunks=by_shape)[CUBE].data
        assert seen == [(self.shape, cube.dtype.itemsize)]  # asked once, with the cube's true shape
        assert data.chunks[0][0] == self.shape[0] // 2 and data.chunks[1][0] == 3
        np.testing.assert_array_equal(data.compute(), cube)

    def test_ingest_round_trip(self, tmp_path: Path, rng: np.random.Generator) -> None:
        path, cube, _ = self._case(tmp_path, rng, self.dtypes[0])
        store = ingest(path, tmp_path / "data" / "store.zarr", data_root=tmp_path / "data")
        reopened = open_store(store)
        np.testing.assert_array_equal(reopened[CUBE].values, cube)
        assert reopened.attrs["reader"] == self.reader_name
        assert len(reopened.attrs["source_sha256"]) == 64

    def test_other_content_is_not_claimed(self, tmp_path: Path) -> None:
        junk = tmp_path / "junk.bin"
        junk.write_bytes(b"not a spectral file at all" * 10)
        assert not readers.get(self.reader_name).sniff(junk)
