"""Every kind of bad input gets a spectraflow error naming file, field and expectation, and leaves no store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spectraflow.cli import app
from spectraflow.errors import (
    DataSizeError,
    FormatError,
    HeaderError,
    InputNotFoundError,
    NonFiniteDataError,
    PathEscapeError,
    SpectraflowError,
    UnsupportedFormatError,
)
from spectraflow.io import ingest, write_envi
from spectraflow.testing.writers import write_mat_v5


def _envi(directory: Path, dtype: str = "float32", **kwargs: object) -> tuple[Path, Path]:
    cube = np.random.default_rng(0).random((6, 5, 4)).astype(dtype)
    return write_envi(directory / "scene.img", cube, wavelength=np.arange(4) * 10 + 500.0, **kwargs)  # type: ignore[arg-type]


def _edit_header(header: Path, key: str, value: str | None) -> None:
    lines = [line for line in header.read_text().splitlines() if not line.lower().startswith(key)]
    if value is not None:
        lines.append(f"{key} = {value}")
    header.write_text("\n".join(lines) + "\n")


def _no_store_left(data: Path) -> None:
    assert list(data.iterdir()) == [], f"left behind: {list(data.iterdir())}"


#: bad headers made by editing a good one: name → (key → new value, expected error, field it must name)
HEADER_EDITS: dict[str, tuple[dict[str, str], type[SpectraflowError], str]] = {
    "unknown data type": ({"data type": "6"}, HeaderError, "data type"),
    "unknown interleave": ({"interleave": "bsx"}, HeaderError, "interleave"),
    "wavelength count": ({"wavelength": "{500, 510, 520}"}, HeaderError, "wavelength"),
    "absurd size": ({"samples": "1000000", "lines": "1000000"}, DataSizeError, "samples x lines x bands"),
}


def _bad_cases(tmp: Path) -> dict[str, tuple[Path, type[SpectraflowError], str]]:
    """name → (input path, expected error type, field the message must name)."""
    cases: dict[str, tuple[Path, type[SpectraflowError], str]] = {}

    def case(name: str) -> Path:
        d = tmp / name
        d.mkdir()
        return d

    cases["missing file"] = (tmp / "absent.hdr", InputNotFoundError, "absent.hdr")
    d = case("missing_header")
    _, raw = _envi(d)
    raw.with_suffix(".hdr").unlink()
    cases["missing header"] = (raw, HeaderError, "header")
    d = case("unreadable_header")
    header, raw = _envi(d)
    header.write_bytes(b"\x00\xffgarbage")
    cases["unreadable header"] = (header, HeaderError, "magic")
    d = case("size")
    header, raw = _envi(d)
    raw.write_bytes(raw.read_bytes()[:-7])
    cases["raw size mismatch"] = (header, DataSizeError, "file size")
    for name, (edits, error, field) in HEADER_EDITS.items():
        header, raw = _envi(case(name.replace(" ", "_")))
        for key, value in edits.items():
            _edit_header(header, key, value)
        cases[name] = (header, error, field)
    d = case("nonfinite")
    cube = np.random.default_rng(1).random((40, 30, 5)).astype("float32")
    cube[33, 17, 2] = np.nan
    cube[35, 2, 0] = np.inf
    header, raw = write_envi(d / "scene.img", cube)
    cases["nan and inf"] = (header, NonFiniteDataError, "data")
    d = case("mat")
    no_cube = write_mat_v5(d / "x.mat", {"a": np.arange(5.0), "b": np.eye(3)})
    cases["mat without cube"] = (no_cube, FormatError, "variables")
    d = case("unknown")
    junk = d / "scene.xyz"
    junk.write_bytes(b"\x00" * 100)
    cases["unrecognised content"] = (junk, UnsupportedFormatError, "content")
    return cases


CASE_NAMES = ["missing file", "missing header", "unreadable header", "raw size mismatch", "unknown data type",
              "unknown interleave", "wavelength count", "absurd size", "nan and inf", "mat without cube",
              "unrecognised content"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_library_error_names_file_and_field_and_leaves_no_store(tmp_path: Path, case: str) -> None:
    path, error, field = _bad_cases(tmp_path)[case]
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(error) as info:
        ingest(path, data / "out.zarr", data_root=data)
    message = str(info.value)
    assert path.name in message or path.with_suffix(".img").name in message or path.stem in message
    assert field in message
    _no_store_left(data)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_cli_exits_nonzero_with_the_message(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path, _, field = _bad_cases(tmp_path)[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    result = CliRunner().invoke(app, ["ingest", str(path), "--out", "data/out.zarr"])
    assert result.exit_code == 2
    assert "error:" in result.output and field in result.output
    assert "Traceback" not in result.output
    _no_store_left(tmp_path / "data")


def test_nonfinite_mask_policy_keeps_nan(tmp_path: Path) -> None:
    path, _, _ = _bad_cases(tmp_path)["nan and inf"]
    from spectraflow.io import open_store

    store = ingest(path, tmp_path / "data" / "out.zarr", nonfinite="mask")
    values = open_store(store)["cube"].values
    assert np.isnan(values[33, 17, 2]) and np.isnan(values[35, 2, 0])
    assert np.isfinite(values).sum() == values.size - 2


@pytest.mark.parametrize("out", ["../outside.zarr", "/tmp/elsewhere.zarr", "data/../../x.zarr", "data"])
def test_output_outside_data_root_is_refused(workspace: Path, out: str) -> None:
    header, _ = _envi(workspace)
    with pytest.raises(PathEscapeError):
        ingest(header, out, data_root="data")


def test_symlink_escape_is_refused(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (workspace / "data" / "link").symlink_to(outside)
    header, _ = _envi(workspace)
    with pytest.raises(PathEscapeError):
        ingest(header, "data/link/x.zarr", data_root="data")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("name", ["../evil", "a/b", ".hidden", "", "x" * 200, "a..b"])
def test_bad_names_are_refused(workspace: Path, name: str) -> None:
    header, _ = _envi(workspace)
    with pytest.raises(PathEscapeError):
        ingest(header, "data/x.zarr", data_root="data", name=name)
    _no_store_left(workspace / "data")


def test_unknown_format_option(workspace: Path) -> None:
    header, _ = _envi(workspace)
    with pytest.raises(UnsupportedFormatError, match="format"):
        ingest(header, "data/x.zarr", format="fits")
