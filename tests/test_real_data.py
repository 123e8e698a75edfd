"""The real benchmark files in the shared data directory, read in place (never copied into the repo)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from spectraflow import datasets
from spectraflow.errors import ChecksumError, DatasetNotFoundError
from spectraflow.io import ingest, open_store, read


def test_every_manifest_file_matches_its_checksum(shared_data: Path) -> None:
    for relative in datasets.CHECKSUMS:
        datasets.shared_file(relative, shared_data)


def test_samson_envi_equals_mat_after_manifest_scaling(shared_data: Path) -> None:
    envi = read(shared_data / "unmixing/samson/envi/samson_1.img")
    assert envi["cube"].dtype == np.int16 and envi["cube"].shape == (95, 95, 156)
    assert envi.attrs["source_sha256"] == datasets.CHECKSUMS["unmixing/samson/envi/samson_1.img"]
    mat = scipy.io.loadmat(shared_data / "unmixing/samson/samson_1.mat")
    v = mat["V"]
    # independent column-major unflattening: pixel j at row j % nRow, col j // nRow
    expected = np.empty((95, 95, 156))
    for j in range(v.shape[1]):
        expected[j % 95, j // 95] = v[:, j]
    raw = envi["cube"].values.astype(np.float64)
    np.testing.assert_allclose(np.clip(raw / raw.max(), 0, None), expected, atol=1e-6)
    wl = envi["wavelength"].values
    assert wl.size == 156 and abs(wl[0] - 400.94) < 0.01 and abs(wl[-1] - 899.07) < 0.01


def test_jasper_envi_bil_equals_mat_except_negatives(shared_data: Path) -> None:
    # The MANIFEST says the .mat stores the ENVI's negative samples as 0; the file in fact holds their
    # absolute value (uint16). Either way the two agree everywhere the ENVI is non-negative.
    envi = read(shared_data / "unmixing/jasper_ridge/envi/jasperRidge2_R198.hdr")
    assert envi["cube"].attrs["envi_interleave"] == "bil"
    assert envi["cube"].attrs["data_scale"] == 10000
    cube = envi["cube"].values
    raw = np.fromfile(shared_data / "unmixing/jasper_ridge/envi/jasperRidge2_R198.img", "<i2")
    np.testing.assert_array_equal(cube, raw.reshape(100, 198, 100).transpose(0, 2, 1))
    y = scipy.io.loadmat(shared_data / "unmixing/jasper_ridge/jasperRidge2_R198.mat")["Y"]
    mat_cube = y.reshape(198, 100, 100, order="F").transpose(1, 2, 0).astype(np.int32)
    differs = mat_cube != cube
    assert (cube[differs] < 0).all() and (mat_cube[differs] == -cube[differs]).all()
    assert (differs == (cube < 0)).all()
    assert 0.005 < differs.mean() < 0.012  # the MANIFEST: 0.8 % of samples
    mat_scene = read(shared_data / "unmixing/jasper_ridge/jasperRidge2_R198.mat", variable="Y")
    np.testing.assert_array_equal(mat_scene["cube"].values, mat_cube)


@pytest.mark.parametrize("stem", ["ang20140912t192359_corr_v1c_img_2580-2590_540-550",
                                  "ang20150420t182808_corr_v1e_img_4200-4210_70-80"])
def test_aviris_ng_bip(shared_data: Path, stem: str) -> None:
    path = shared_data / "envi/aviris_ng" / f"{stem}.hdr"
    scene = read(path)
    assert scene["cube"].shape == (10, 10, 432) and scene["cube"].dtype == np.float32
    assert scene["cube"].attrs["envi_interleave"] == "bip"
    wl = scene["wavelength"].values
    assert abs(wl[0] - 346.3) < 0.1 and abs(wl[-1] - 2505.0) < 0.1 and np.all(np.diff(wl) > 0)
    assert "fwhm" in scene.coords and np.all(scene["fwhm"].values > 0)
    assert int(scene["good_band"].sum()) == 373
    raw = np.fromfile(path.with_suffix(".img"), "<f4").reshape(10, 10, 432)
    np.testing.assert_array_equal(scene["cube"].values, raw)
    assert "envi_map_info" in scene.attrs


@pytest.mark.parametrize("name,n_em,relerr", [("samson", 3, 0.096), ("jasper_ridge", 4, 0.17)])
def test_ground_truth_reconstructs_cube(name: str, n_em: int, relerr: float) -> None:
    scene = datasets.load(name)
    a, e, v = scene["abundances"].values, scene["endmembers"].values, scene["cube"].values
    assert a.shape[-1] == e.shape[0] == n_em
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-6)
    err = np.linalg.norm(a @ e - v) / np.linalg.norm(v)
    assert abs(err - relerr) < 0.006, err


def test_jasper_names_and_scale() -> None:
    scene = datasets.load("jasper_ridge")
    assert list(scene["endmember"].values) == ["tree", "water", "dirt", "road"]
    assert 1.0 < float(scene["cube"].max()) < 1.1  # 5437 / 5000


def test_san_diego_has_anomaly_map() -> None:
    scene = datasets.load("san_diego")
    assert scene["cube"].shape == (100, 100, 189)
    assert int(scene["anomaly_map"].sum()) == 134


def test_real_scene_ingests_and_round_trips(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "unmixing/jasper_ridge/envi/jasperRidge2_R198.hdr"
    store = ingest(src, tmp_path / "jasper.zarr", name="jasper")
    scene = open_store(store)
    np.testing.assert_array_equal(scene["cube"].values, read(src)["cube"].values)
    assert scene.attrs["source_sha256"] == datasets.CHECKSUMS["unmixing/jasper_ridge/envi/jasperRidge2_R198.img"]


def test_corrupted_copy_fails_checksum(shared_data: Path, tmp_path: Path) -> None:
    target = tmp_path / "hsi/san_diego"
    target.mkdir(parents=True)
    data = bytearray((shared_data / "hsi/san_diego/sandiego_plane.mat").read_bytes())
    data[-1] ^= 0xFF
    (target / "sandiego_plane.mat").write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sandiego_plane.mat"):
        datasets.load("san_diego", root=tmp_path)
    shutil.rmtree(target)
    with pytest.raises(DatasetNotFoundError, match="SPECTRAFLOW_SHARED_DATA"):
        datasets.load("san_diego", root=tmp_path)


def test_hymap_like_header_with_unknown_units_reads_nanometres_and_says_so(shared_data: Path) -> None:
    """MANIFEST §7: `wavelength units = Unknown` over values in nanometres; the inference is in the provenance."""
    scene = read(shared_data / "sensor_product/cubus_gamsberg_subset.hdr")
    header = (shared_data / "sensor_product/cubus_gamsberg_subset.hdr").read_text()
    listed = header.split("wavelength = {", 1)[1].split("}", 1)[0]
    np.testing.assert_allclose(scene["wavelength"].values, [float(v) for v in listed.split(",")])
    assert scene.attrs["wavelength_units_inferred"].startswith("nanometres") and "Unknown" in \
        scene.attrs["wavelength_units_inferred"]
