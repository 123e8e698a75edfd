"""Hostile input: generated ENVI headers and corrupted files of every format either load or raise a
spectraflow error — never another exception, a hang or an allocation the header asked for."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spectraflow.errors import DataSizeError, SpectraflowError
from spectraflow.io import ingest, read
from spectraflow.testing.hostile import FORMATS, HostileTally, mutate, try_reading, valid_file

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_numbers = st.one_of(st.integers(-5, 40), st.integers(-(10**30), 10**30), st.sampled_from(["nan", "inf", "-0", ""]),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=12))
_lists = st.lists(_numbers, max_size=12).map(lambda v: "{" + ", ".join(map(str, v)) + "}")
_keys = st.sampled_from(["samples", "lines", "bands", "header offset", "data type", "byte order", "interleave",
                         "wavelength", "wavelength units", "fwhm", "bbl", "reflectance scale factor",
                         "data ignore value", "description", "file type"])
_values = st.one_of(_numbers, _lists, st.sampled_from(["bsq", "bil", "bip", "BIP", "xyz", "{", "{ 1, 2", "}",
                                                        "Nanometers", "Micrometers", "index", "parsecs"]))
_lines = st.one_of(st.tuples(_keys, _values).map(lambda kv: f"{kv[0]} = {kv[1]}"), st.text(max_size=30))


def _plausible(draw: st.DrawFn) -> list[str]:
    """A header close to a valid one, so that fuzzing reaches past the first checks."""
    samples, lines, bands = draw(st.integers(1, 6)), draw(st.integers(1, 6)), draw(st.integers(1, 5))
    return [f"samples = {samples}", f"lines = {lines}", f"bands = {bands}",
            f"data type = {draw(st.sampled_from([1, 2, 3, 4, 5, 12, 6, 9, 99]))}",
            f"interleave = {draw(st.sampled_from(['bsq', 'bil', 'bip']))}",
            f"byte order = {draw(st.sampled_from([0, 1]))}"]


@st.composite
def envi_headers(draw: st.DrawFn) -> tuple[str, int]:
    lines = (_plausible(draw) if draw(st.booleans()) else []) + draw(st.lists(_lines, max_size=10))
    lines = draw(st.permutations(lines))
    magic = draw(st.sampled_from(["ENVI", "ENVI", "ENVI", "ENV", "envi", ""]))
    return magic + "\n" + "\n".join(lines) + "\n", draw(st.integers(0, 2048))


@FUZZ
@given(header=envi_headers(), seed=st.integers(0, 2**16))
def test_generated_envi_headers_load_or_raise_a_spectraflow_error(header: tuple[str, int], seed: int,
                                                                  tmp_path: Path) -> None:
    text, raw_size = header
    (tmp_path / "x.hdr").write_text(text, encoding="utf-8", errors="surrogatepass")
    raw = np.random.default_rng(seed).integers(0, 256, raw_size, dtype=np.uint8).tobytes()
    (tmp_path / "x.img").write_bytes(raw)
    try:
        scene = read(tmp_path / "x.hdr", format="envi")
    except SpectraflowError as exc:
        assert "x.hdr" in str(exc) or "x.img" in str(exc)  # the error names the file
        return
    cube = scene["cube"].values  # what loads, reads
    assert cube.size * cube.dtype.itemsize <= raw_size


_MAGIC = {"envi": (b"ENVI\nsamples = 2\n", ".hdr"), "matlab": (b"MATLAB 5.0 MAT-file" + b" " * 97, ".mat"),
          "netcdf": (b"\x89HDF\r\n\x1a\n", ".nc"), "geotiff": (b"II*\x00", ".tif"),
          "npy": (b"\x93NUMPY\x01\x00", ".npy"), "hspy": (b"\x89HDF\r\n\x1a\n", ".hspy")}


@FUZZ
@given(format=st.sampled_from(sorted(_MAGIC)), body=st.binary(max_size=4096), keep_magic=st.booleans())
def test_corrupted_files_of_every_format_raise_a_spectraflow_error(format: str, body: bytes, keep_magic: bool,
                                                                   tmp_path: Path) -> None:
    magic, suffix = _MAGIC[format]
    path = tmp_path / f"corrupt{suffix}"
    path.write_bytes((magic if keep_magic else b"") + body)
    try:
        scene = read(path, format=format)
    except SpectraflowError as exc:
        assert path.name in str(exc)
        return
    scene["cube"].values  # noqa: B018 — a file that parses is read through


def test_a_header_claiming_a_huge_cube_is_refused_before_allocating(tmp_path: Path) -> None:
    for samples, lines, bands in ((10**6, 10**6, 1), (10**6, 10**6, 10**6), (2**62, 2**62, 2**62)):
        (tmp_path / "big.hdr").write_text(f"ENVI\nsamples = {samples}\nlines = {lines}\nbands = {bands}\n"
                                          "data type = 4\ninterleave = bsq\nbyte order = 0\n")
        (tmp_path / "big.img").write_bytes(b"\0" * 64)
        tracemalloc.start()
        try:
            with pytest.raises(DataSizeError, match="big"):
                read(tmp_path / "big.hdr")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 << 20  # refused from the header and the file size, nothing the size of the claim


@pytest.mark.parametrize("key, value", [("out", "../outside.zarr"), ("out", "/etc/spectraflow.zarr"),
                                        ("input", "data/../../x.zarr"), ("source_dir", "..")])
def test_paths_from_params_cannot_leave_the_workspace(key: str, value: str) -> None:
    from spectraflow.config import IngestConfig, PreprocessConfig, from_mapping
    from spectraflow.errors import ConfigError

    cls = PreprocessConfig if key == "input" else IngestConfig
    with pytest.raises(ConfigError, match=rf"\[stage\]: {key}=.*inside the workspace"):
        from_mapping(cls, {key: value}, "stage")
    assert from_mapping(cls, {key: "data/../data/x"}, "stage")  # normalised, still inside: accepted


def test_a_method_checkpoint_from_params_cannot_leave_the_workspace() -> None:
    from spectraflow.errors import ConfigError
    from spectraflow.methods import build

    with pytest.raises(ConfigError, match="checkpoint='/tmp/model'"):
        build("denoise", {"qrnn3d": {"checkpoint": "/tmp/model"}}, "denoise.methods")


@FUZZ
@given(format=st.sampled_from(FORMATS), seed=st.integers(0, 2**32 - 1))
def test_damaged_valid_files_of_every_format_ingest_or_raise_a_spectraflow_error(format: str, seed: int,
                                                                                 tmp_path: Path) -> None:
    """Structured damage (truncation, flipped bytes, huge size fields) of real files of each format."""
    directory = tmp_path / f"{format}-{seed}"
    path = valid_file(directory, format)
    path.write_bytes(mutate(path.read_bytes(), np.random.default_rng(seed)))
    tally = HostileTally()
    try_reading(lambda: ingest(path, directory / "out.zarr"), tally, f"{format} seed {seed}")
    assert tally.other == tally.hangs == 0, tally.examples
    assert not [p for p in directory.iterdir() if ".partial-" in p.name or ".old-" in p.name]
