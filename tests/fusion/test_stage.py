"""The fuse stage's work (``fuse_store`` and its figure) on generated acquisitions, where the finer truth is known,
and on the real Paris pair; the generated acquisition against the sensor model it claims."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectraflow import datasets
from spectraflow.config import FuseConfig
from spectraflow.cube import make_scene
from spectraflow.errors import ConfigError, FormatError
from spectraflow.io import ingest, open_store, write_store
from spectraflow.methods import get
from spectraflow.methods.fusion import RESULT_PREFIX, band_responses, degrade, fuse_store, scored_window
from spectraflow.metrics import fusion_scores, qnr
from spectraflow.synth import COMPANION_BANDS, synthetic_acquisition, write_scene_envi
from tasks.fuse import fusion_figure

STEPS = [{"radiometric": {}}, {"bad_bands": {"header": True}}]


def _written(tmp_path: Path, companion: str, seed: int = 5) -> Path:
    """A generated acquisition (30 x 30 camera scene, companion 3x finer) written as the synth stage writes it."""
    acquisition = synthetic_acquisition(seed, companion=companion, ratio=3, height=30, width=30, sensor="camera31",
                                        endmembers=("vegetation", "soil", "asphalt"))
    raw = tmp_path / "raw"
    write_scene_envi(acquisition.scene, raw)
    assert acquisition.companion is not None and acquisition.reference is not None
    write_scene_envi(acquisition.companion, raw, name="companion")
    acquisition.reference.to_netcdf(raw / "reference.nc", engine="h5netcdf")
    ingest(raw / "scene.hdr", tmp_path / "scene.zarr")
    ingest(raw / "companion.hdr", tmp_path / "companion.zarr")
    return raw


def test_a_generated_acquisition_is_its_reference_seen_by_the_sensor_model() -> None:
    acquisition = synthetic_acquisition(3, companion="rgb", ratio=3, height=20, width=24, sensor="camera31",
                                        endmembers=("vegetation", "soil", "water"))
    scene, companion, reference = acquisition.scene, acquisition.companion, acquisition.reference
    assert companion is not None and reference is not None
    fine = reference["cube"].values.astype(np.float64)
    assert fine.shape == (60, 72, 31) and scene["cube"].shape == (20, 24, 31) and companion["cube"].shape == (60, 72, 3)
    np.testing.assert_allclose(scene["cube"].values, degrade(fine, 3), atol=1e-6)
    centres, widths = COMPANION_BANDS["rgb"]
    np.testing.assert_allclose(companion["cube"].values, fine @ band_responses(scene["wavelength"].values,
                                                                               np.array(centres), np.array(widths)).T,
                               atol=1e-6)
    np.testing.assert_allclose(companion["wavelength"].values, centres)
    abundances = scene["abundances"].values
    np.testing.assert_allclose(abundances.sum(-1), 1, atol=1e-5)
    assert abundances.min() >= 0 and (abundances.max(axis=(0, 1)) > 0.999).all()  # each material keeps pure pixels
    np.testing.assert_allclose(scene["cube"].values, abundances @ scene["endmembers"].values, atol=1e-5)
    with pytest.raises(ConfigError, match="companion 'lidar'"):
        synthetic_acquisition(0, companion="lidar")


def test_every_method_fuses_the_pair_and_is_scored_three_ways(tmp_path: Path) -> None:
    raw = _written(tmp_path, "pan")
    store, metrics = fuse_store(tmp_path / "scene.zarr", tmp_path / "companion.zarr", tmp_path / "fused.zarr",
                                methods=["mtf_glp", "cubic"], steps=STEPS, reference=raw / "reference.nc")
    result = open_store(store)
    assert result["cube"].shape == (90, 90, 31) and list(result.data_vars) == ["cube", f"{RESULT_PREFIX}cubic"]
    assert [m["name"] for m in json.loads(result.attrs["fusion"])] == ["mtf_glp", "cubic"]
    assert metrics["ratio"] == 3 and metrics["companion_bands"] == 1 and metrics["mtf_glp"]["seconds"] >= 0
    reference = xr.open_dataset(raw / "reference.nc", engine="h5netcdf")["cube"].values.astype(np.float64)
    scene = open_store(tmp_path / "scene.zarr")
    hs = scene["cube"].values / scene["cube"].attrs["data_scale"]
    pan = open_store(tmp_path / "companion.zarr")["cube"].values[:, :, 0] / 10000.0
    for name, cube in (("mtf_glp", result["cube"].values), ("cubic", result[f"{RESULT_PREFIX}cubic"].values)):
        # scored as the metrics say: against the reference, and with no reference
        expected = fusion_scores(cube, reference, 3, data_range=float(reference.max()))
        assert metrics[name]["reference"] == pytest.approx(expected, rel=1e-4)
        assert metrics[name]["full"] == pytest.approx(qnr(cube, hs, pan, 3), rel=1e-3, abs=1e-4)
        # Wald's protocol: both images degraded, fused, scored against the scene
        low = xr.DataArray(degrade(hs, 3), dims=("y", "x", "band"))
        direct = get("fuse", name)().fuse(low, xr.DataArray(degrade(pan, 3), dims=("y", "x")))
        assert metrics[name]["reduced"]["psnr"] == pytest.approx(
            fusion_scores(direct.values, hs, 3, data_range=float(hs.max()))["psnr"], rel=1e-4)
    # the guided method recovers detail that interpolation cannot, by each score
    assert metrics["mtf_glp"]["reference"]["psnr"] > metrics["cubic"]["reference"]["psnr"] + 5
    assert metrics["mtf_glp"]["reduced"]["psnr"] > metrics["cubic"]["reduced"]["psnr"] + 5

    config = FuseConfig(input=str(tmp_path / "scene.zarr"), steps=tuple(STEPS), source_dir=str(raw),
                        reference="reference.nc")
    figure = fusion_figure.fn(str(store), config, str(tmp_path / "fusion.png"))
    assert Path(figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_scene_larger_than_the_score_window_is_fused_whole_and_scored_on_its_centre(tmp_path: Path) -> None:
    """The stage reads the pair lazily and fuses it tile by tile as it writes; the scores are those of the central
    window, computed here from the arrays in memory."""
    raw = _written(tmp_path, "pan")
    store, metrics = fuse_store(tmp_path / "scene.zarr", tmp_path / "companion.zarr", tmp_path / "fused.zarr",
                                methods=["mtf_glp", {"gsa": {"memory_mb": 4}}], steps=STEPS,
                                reference=raw / "reference.nc", score_window=48)
    rows, cols = scored_window((30, 30), 3, 48)  # 16 of 30 coarse pixels a side, centred: 7..23
    assert (rows, cols) == (slice(21, 69), slice(21, 69)) and metrics["scored_pixels"] == 48 * 48
    assert scored_window((30, 30), 3, None) == scored_window((30, 30), 3, 400) == (slice(0, 90), slice(0, 90))
    result = open_store(store)
    assert json.loads(result.attrs["scored_window"]) == {"y": [21, 69], "x": [21, 69]}
    scene = open_store(tmp_path / "scene.zarr")
    hs = scene["cube"].values / scene["cube"].attrs["data_scale"]
    pan = open_store(tmp_path / "companion.zarr")["cube"].values[:, :, 0] / 10000.0
    reference = xr.open_dataset(raw / "reference.nc", engine="h5netcdf")["cube"].values.astype(np.float64)
    for name, cube in (("mtf_glp", result["cube"].values), ("gsa", result[f"{RESULT_PREFIX}gsa"].values)):
        # the whole scene fused (gsa in 9-pixel tiles, a 4 MiB budget) as the method fuses the pair in memory
        whole = get("fuse", name)().fuse(xr.DataArray(hs, dims=("y", "x", "band")),
                                         xr.DataArray(pan, dims=("y", "x"))).values
        np.testing.assert_allclose(cube, whole, atol=1e-5 * np.ptp(whole))
        window, truth = cube[rows, cols], reference[rows, cols]
        assert metrics[name]["reference"] == pytest.approx(
            fusion_scores(window, truth, 3, data_range=float(truth.max())), rel=1e-4)
        assert metrics[name]["reference"]["psnr"] != pytest.approx(  # the window's, not the scene's
            fusion_scores(cube, reference, 3, data_range=float(reference.max()))["psnr"], rel=1e-3)
        assert metrics[name]["full"] == pytest.approx(qnr(window, hs[7:23, 7:23], pan[rows, cols], 3), rel=1e-3,
                                                      abs=1e-4)
        low = xr.DataArray(degrade(hs[7:22, 7:22], 3), dims=("y", "x", "band"))  # Wald's: the window, degraded
        direct = get("fuse", name)().fuse(low, xr.DataArray(degrade(pan[21:66, 21:66], 3), dims=("y", "x")))
        assert metrics[name]["reduced"]["psnr"] == pytest.approx(
            fusion_scores(direct.values, hs[7:22, 7:22], 3, data_range=float(hs[7:22, 7:22].max()))["psnr"],
            rel=1e-4)
    config = FuseConfig(input=str(tmp_path / "scene.zarr"), steps=tuple(STEPS), source_dir=str(raw),
                        reference="reference.nc", score_window=48)
    assert Path(fusion_figure.fn(str(store), config, str(tmp_path / "fusion.png"))).stat().st_size > 0
    with pytest.raises(ConfigError, match="score_window"):
        FuseConfig(score_window=4)
    with pytest.raises(ConfigError, match="score_window=0"):  # refused before the pair is read
        fuse_store(tmp_path / "scene.zarr", tmp_path / "companion.zarr", tmp_path / "x.zarr", score_window=0)
    assert not (tmp_path / "x.zarr").exists()


def test_a_multispectral_companion_uses_its_band_definitions(tmp_path: Path) -> None:
    raw = _written(tmp_path, "rgb")
    companion = open_store(tmp_path / "companion.zarr").load()
    shifted = companion.assign_coords(wavelength=companion["wavelength"] + 60)  # a header 60 nm off
    write_store(shifted, tmp_path / "shifted.zarr")
    scores = {}
    for name, store, srf in (("bands", "companion", "bands"), ("shifted", "shifted", "bands"),
                             ("estimate", "companion", "estimate")):
        _, metrics = fuse_store(tmp_path / "scene.zarr", tmp_path / f"{store}.zarr", tmp_path / f"fused-{name}.zarr",
                                methods=["subspace"], steps=STEPS, srf=srf, reference=raw / "reference.nc")
        scores[name] = metrics["subspace"]["reference"]["psnr"]
    assert metrics["companion_bands"] == 3
    # the responses come from the header's centres and widths: the true ones recover the reference, a header
    # 60 nm off does not; with none assumed, they are estimated from the data
    assert scores["bands"] > scores["shifted"] + 5 and scores["estimate"] > scores["shifted"] + 5, scores


def test_nodata_bad_pairs_and_bad_references_are_refused_or_kept_apart(tmp_path: Path) -> None:
    raw = _written(tmp_path, "pan")
    scene = open_store(tmp_path / "scene.zarr").load()
    cube = scene["cube"].values.astype(np.float32) / 10000
    cube[:2, :3] = np.nan  # nodata in the scene: NaN over the finer pixels it covers, finite elsewhere
    holed = make_scene(cube, wavelength=scene["wavelength"].values, units="reflectance")
    write_store(holed, tmp_path / "holed.zarr")
    store, _ = fuse_store(tmp_path / "holed.zarr", tmp_path / "companion.zarr", tmp_path / "fused.zarr",
                          methods=["gsa"], srf="estimate")
    fused = open_store(store)["cube"].values
    assert np.isnan(fused[:6, :9]).all() and np.isfinite(fused[6:]).all() and np.isfinite(fused[:, 9:]).all()

    small = make_scene(np.ones((50, 50, 1), np.float32), wavelength=[600.0], fwhm=[200.0], units="reflectance")
    write_store(small, tmp_path / "small.zarr")
    with pytest.raises(ConfigError, match=r"companion .*small.zarr.*one\s+integer resolution ratio"):
        fuse_store(tmp_path / "scene.zarr", tmp_path / "small.zarr", tmp_path / "x.zarr", methods=["gsa"])
    unbanded = make_scene(np.ones((90, 90, 1), np.float32), units="reflectance")
    write_store(unbanded, tmp_path / "unbanded.zarr")
    with pytest.raises(ConfigError, match="srf: estimate"):
        fuse_store(tmp_path / "scene.zarr", tmp_path / "unbanded.zarr", tmp_path / "x.zarr", methods=["gsa"])
    xr.Dataset({"cube": (("y", "x", "band"), np.zeros((84, 90, 31)))}).to_netcdf(tmp_path / "short.nc",
                                                                               engine="h5netcdf")
    with pytest.raises(FormatError, match=r"short.nc.*90 x 90 pixels"):
        fuse_store(tmp_path / "scene.zarr", tmp_path / "companion.zarr", tmp_path / "x.zarr", methods=["gsa"],
                   reference=tmp_path / "short.nc")
    with pytest.raises(ConfigError, match="each once"):
        fuse_store(tmp_path / "scene.zarr", tmp_path / "companion.zarr", tmp_path / "x.zarr", methods=["gsa", "gsa"])
    assert not (tmp_path / "x.zarr").exists()
    with pytest.raises(ConfigError, match="reference='../truth.nc'"):
        FuseConfig(source_dir=str(raw), reference="../truth.nc")


def test_the_real_paris_pair_through_the_stage(tmp_path: Path, shared_data: Path) -> None:
    """Hyperion with ALI's real pan (3x finer): the pan as a one-band companion store with ALI's band definition."""
    from spectraflow.datasets import ALI_BANDS

    pair = datasets.load("paris_hs_pan")
    write_store(pair.drop_vars(["pan", "pan_srf"]), tmp_path / "scene.zarr")
    lo, hi = ALI_BANDS["Pan"]
    pan = pair["pan"].values.astype(np.float32)[:, :, None]
    write_store(make_scene(pan, wavelength=[(lo + hi) / 2], fwhm=[hi - lo], units=pair["cube"].attrs.get("units")),
                tmp_path / "pan.zarr")
    store, metrics = fuse_store(tmp_path / "scene.zarr", tmp_path / "pan.zarr", tmp_path / "fused.zarr",
                                methods=["mtf_glp", "gsa", "cubic"])
    assert metrics["ratio"] == 3 and open_store(store)["cube"].shape == (216, 174, pair["cube"].shape[2])
    fused = open_store(store)["cube"].values
    assert metrics["mtf_glp"]["full"] == pytest.approx(qnr(fused, pair["cube"].values, pan[:, :, 0], 3), rel=1e-3)
    for name in ("mtf_glp", "gsa"):  # real detail injected: better than interpolation at reduced resolution
        assert metrics[name]["reduced"]["psnr"] > metrics["cubic"]["reduced"]["psnr"] + 1
