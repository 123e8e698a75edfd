"""Electron-microscopy files (MANIFEST §6) read through RosettaSciIO into scenes on an energy-loss axis: the
real DigitalMicrograph spectrum image and spectrum, the Velox EMD fixture, HyperSpy files as the synth stage writes
them, and damaged copies of them."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spectraflow.cli import app
from spectraflow.cube import spectral_axis, spectral_positions
from spectraflow.errors import DataSizeError, FormatError
from spectraflow.io import detect_format, ingest, open_store, read


@pytest.fixture(scope="module")
def velox(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("velox")
    with zipfile.ZipFile(shared_data / "eels" / "velox_EELS_EDS.zip") as archive:
        archive.extractall(directory)
    return directory / "example_velox_EELS_EDS.emd"


def _dm_raw(path: Path) -> np.ndarray:
    """The file's samples as RosettaSciIO gives them (the reference the scene is checked against)."""
    from rsciio.digitalmicrograph import file_reader

    return np.asarray(file_reader(str(path))[0]["data"])


def test_a_dm4_spectrum_image_becomes_a_scene_on_the_energy_loss_axis(shared_data: Path) -> None:
    path = shared_data / "eels" / "EELS_SI.dm4"
    assert detect_format(path) == "dm"
    scene = read(path)
    assert spectral_axis(scene).name == "energy_loss" and scene["energy_loss"].attrs["units"] == "eV"
    # MANIFEST: 2048 channels at 1 eV from 300 eV, 2 x 2 pixels, stored energy-first
    np.testing.assert_allclose(spectral_positions(scene), 300.0 + np.arange(2048))
    assert scene["cube"].shape == (2, 2, 2048)
    np.testing.assert_array_equal(scene["cube"].values, np.moveaxis(_dm_raw(path), 0, -1))
    assert scene.attrs["reader"] == "dm" and scene.attrs["signal_type"] == "EELS"
    assert json.loads(scene.attrs["pixel_size"])["x"]["units"] == "µm"


def test_a_single_dm3_spectrum_is_a_one_pixel_scene_with_the_titanium_l_edge(shared_data: Path) -> None:
    scene = read(shared_data / "eels" / "EELS_STO.dm3")
    energy = spectral_positions(scene)
    np.testing.assert_allclose(energy, 350.0 + 0.25 * np.arange(2048))
    spectrum = scene["cube"].values[0, 0].astype(np.float64)
    # SrTiO3: a power law fitted below the Ti L2,3 edge (456 eV) under-predicts the counts above it
    before = (energy > 400) & (energy < 450)
    slope, intercept = np.polyfit(np.log(energy[before]), np.log(spectrum[before]), 1)
    after = (energy > 460) & (energy < 470)
    extrapolated = np.exp(intercept + slope * np.log(energy[after]))
    assert spectrum[after].mean() > 1.1 * extrapolated.mean()


def test_the_command_line_picks_a_velox_spectrum_image(velox: Path, workspace: Path) -> None:
    result = CliRunner().invoke(app, ["ingest", str(velox), "--out", "data/low.zarr", "--signal", "2"])
    assert result.exit_code == 0, result.output
    assert open_store("data/low.zarr")["energy_loss"].values[0] == pytest.approx(-21.5026)


def test_the_velox_emd_spectrum_images_are_chosen_by_index(velox: Path) -> None:
    assert detect_format(velox) == "emd"
    offsets = []
    for index in range(3):  # three EELS spectrum images (MANIFEST §6); the EDS stream is no EELS signal
        scene = read(velox, signal=index)
        assert scene["cube"].shape == (16, 20, 2048) and scene["cube"].dtype == np.uint16
        energy = spectral_positions(scene)
        np.testing.assert_allclose(np.diff(energy), 0.1692, rtol=1e-9)
        offsets.append(energy[0])
    np.testing.assert_allclose(offsets, [800.0, 480.0, -21.5026], atol=1e-6)
    with pytest.raises(FormatError, match=r"example_velox_EELS_EDS\.emd.*signal.*0\.\.2"):
        read(velox, signal=3)


def test_the_command_line_ingests_a_spectrum_image_and_shows_its_energy_axis(shared_data: Path,
                                                                           workspace: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(shared_data / "eels" / "EELS_SI.dm4"), "--out", "data/si.zarr"])
    assert result.exit_code == 0, result.output
    store = open_store("data/si.zarr")
    np.testing.assert_allclose(store["energy_loss"].values, 300.0 + np.arange(2048))
    shown = runner.invoke(app, ["info", "data/si.zarr"])
    assert "energy loss" in shown.output and "300.0–2347.0 eV" in shown.output



def _dimension_offset(raw: bytes) -> int:
    """Where the DM4 file stores its energy extent (2048) among the image's ``Dimensions`` tags."""
    extent = struct.pack("<I", 2048)
    start = raw.find(b"Dimensions")
    while extent not in raw[start:start + 300]:  # the thumbnail's Dimensions come first
        start = raw.find(b"Dimensions", start + 1)
        assert start >= 0, "no Dimensions tag holds the energy extent"
    return start + raw[start:start + 300].find(extent)


@pytest.mark.parametrize("extent, error", [(2_000_000_000, DataSizeError), (100_000, FormatError)])
def test_a_dm4_declaring_more_samples_than_it_holds_is_refused(shared_data: Path, tmp_path: Path,
                                                               extent: int, error: type[Exception]) -> None:
    raw = (shared_data / "eels" / "EELS_SI.dm4").read_bytes()
    at = _dimension_offset(raw)
    path = tmp_path / "claims.dm4"
    path.write_bytes(raw[:at] + struct.pack("<I", extent) + raw[at + 4:])
    with pytest.raises(error, match=r"claims\.dm4.*data"):
        read(path)


@pytest.mark.parametrize("cut", [16, 1000, 200_000])
def test_a_truncated_dm_file_is_refused_naming_it_and_leaves_no_store(shared_data: Path, tmp_path: Path,
                                                                      cut: int) -> None:
    path = tmp_path / "cut.dm4"
    path.write_bytes((shared_data / "eels" / "EELS_SI.dm4").read_bytes()[:cut])
    with pytest.raises(FormatError, match=r"cut\.dm4"):
        ingest(path, tmp_path / "out.zarr")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.dm4"]


def test_a_hyperspy_file_reads_back_the_spectrum_image_it_was_written_from(tmp_path: Path) -> None:
    from rsciio.hspy import file_reader

    from spectraflow.synth import eels_scene, write_eels_hspy

    generated = eels_scene(4, height=20, width=24, energy=(400.0, 600.0, 0.5), dose=300.0)
    path = write_eels_hspy(generated, tmp_path / "raw")
    assert detect_format(path) == "hspy"
    store = ingest(path, tmp_path / "scene.zarr", ground_truth=tmp_path / "raw" / "scene_groundtruth.nc")
    scene = open_store(store)
    assert spectral_axis(scene).name == "energy_loss" and scene.attrs["signal_type"] == "EELS"
    np.testing.assert_allclose(spectral_positions(scene), 400.0 + 0.5 * np.arange(400))
    # the samples as HyperSpy's own reader gives them, and as generated
    np.testing.assert_array_equal(scene["cube"].values, np.asarray(file_reader(str(path))[0]["data"]))
    np.testing.assert_array_equal(scene["cube"].values, generated["cube"].values)
    np.testing.assert_array_equal(scene["anomaly_map"].values, generated["anomaly_map"].values)
    images = tmp_path / "images.hspy"  # an HDF5 file of another kind under the name: refused, naming it
    images.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(FormatError, match="images.hspy"):
        read(images)


def test_an_eels_line_scan_runs_through_every_per_scene_stage(tmp_path: Path) -> None:
    """A line scan as HyperSpy saves one (one navigation axis) is a 1 × n scene that preprocessing, denoising,
    unmixing and detection all take (denoising raised an IndexError on it until stop 81); the planted regions,
    laid along the line, stand out."""
    import xarray as xr
    from rsciio.hspy import file_writer

    from spectraflow.methods.anomaly._run import detect_store
    from spectraflow.methods.denoisers._run import denoise_store
    from spectraflow.methods.unmixers._run import unmix_store
    from spectraflow.metrics import roc_auc
    from spectraflow.preprocess import parse_steps, preprocess_store
    from spectraflow.synth import eels_scene

    generated = eels_scene(int(np.random.default_rng().integers(1000)), height=48, width=48, dose=2000.0)
    counts = generated["cube"].values.reshape(1, -1, generated.sizes["band"])
    energy = generated["energy_loss"].values
    path = tmp_path / "line.hspy"
    file_writer(str(path), {
        "data": counts[0], "original_metadata": {}, "tmp_parameters": {}, "attributes": {"_lazy": False},
        "learning_results": {}, "models": {}, "package_info": {"package": "test", "package_version": "0"},
        "axes": [{"name": "x", "size": counts.shape[1], "offset": 0.0, "scale": 1.0, "units": "px", "navigate": True},
                 {"name": "Energy loss", "size": counts.shape[2], "offset": float(energy[0]),
                  "scale": float(energy[1] - energy[0]), "units": "eV", "navigate": False}],
        "metadata": {"General": {"title": "line"}, "Signal": {"signal_type": "EELS"}}})
    truth = tmp_path / "truth.nc"
    xr.Dataset({"anomaly_map": (("y", "x"), generated["anomaly_map"].values.reshape(1, -1))}).to_netcdf(
        truth, engine="h5netcdf")
    store = ingest(path, tmp_path / "scene.zarr", ground_truth=truth)
    assert open_store(store)["cube"].shape == counts.shape
    stabilised = [{"anscombe": {}}]
    preprocessed = preprocess_store(store, tmp_path / "preprocessed.zarr",
                                    parse_steps([*stabilised, {"normalize": {"method": "minmax", "per_band": False}}]))
    denoised, _ = denoise_store(preprocessed, tmp_path / "denoised.zarr", [{"subspace_tv": {}}])
    assert np.isfinite(open_store(denoised)["cube"].values).all()
    unmixed = xr.open_zarr(unmix_store(preprocessed, tmp_path / "unmixed.zarr", n_endmembers=3), consolidated=False)
    assert unmixed["abundances"].shape == (1, counts.shape[1], 3) and np.isfinite(unmixed["abundances"].values).all()
    scored, _ = detect_store(store, tmp_path / "anomaly.zarr", steps=stabilised, methods=["local_rx"])
    scores = xr.open_zarr(scored, consolidated=False)
    # 0.79 to 1.0 over generator seeds (a 48 × 48 scene laid along a line cuts its regions into runs; chance: 0.5)
    assert roc_auc(scores["scores"].sel(method="local_rx"), scores["anomaly_map"]) > 0.75
