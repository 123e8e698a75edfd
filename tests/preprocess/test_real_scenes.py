"""Preprocessing on the real scenes in ../shared/data, against NumPy/SciPy references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spectraflow import datasets
from spectraflow.io import read
from spectraflow.preprocess import band_statistics, fit_pca, hysime, noise_covariance, parse_steps, run_chain

AVIRIS_NG = "envi/aviris_ng/ang20150420t182808_corr_v1e_img_4200-4210_70-80.hdr"


def test_samson_envi_chain_matches_numpy(shared_data: Path) -> None:
    scene = read(shared_data / "unmixing/samson/envi/samson_1.img.hdr", chunks={"y": 40, "x": 50, "band": -1})
    dn = scene["cube"].values.astype(np.float64)
    out = run_chain(scene, parse_steps([
        "radiometric", {"normalize": {"method": "standard", "per_band": True}}]))
    physical = dn / float(scene["cube"].attrs["data_scale"])
    expected = (physical - physical.mean(axis=(0, 1))) / physical.std(axis=(0, 1), ddof=1)
    np.testing.assert_allclose(out["cube"].values, expected, rtol=1e-4, atol=1e-4)


def test_regression_noise_on_jasper_matches_per_band_least_squares() -> None:
    cube = datasets.load("jasper_ridge")["cube"].chunk({"y": 50, "x": 50, "band": -1})
    x = cube.values.reshape(-1, cube.sizes["band"]).astype(np.float64)
    bands = [0, 50, 120, 197]
    stats = band_statistics(cube, gram=True)
    got = np.diag(noise_covariance(stats))[bands]
    for band, value in zip(bands, got, strict=True):
        others = np.delete(x, band, axis=1)
        beta, *_ = np.linalg.lstsq(others, x[:, band], rcond=None)
        residual = x[:, band] - others @ beta
        assert value == pytest.approx(residual @ residual / x.shape[0], rel=1e-5)
    result = hysime(stats=stats)
    assert 4 <= result.k <= 40  # four materials; real scenes carry more signal dimensions than endmembers
    assert np.all(result.noise_std > 0)


def test_pca_of_samson_matches_svd() -> None:
    cube = datasets.load("samson")["cube"].chunk({"y": 32, "x": 95, "band": -1})
    x = cube.values.reshape(-1, cube.sizes["band"]).astype(np.float64)
    _, singular, _ = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    projection = fit_pca(cube, 3)
    np.testing.assert_allclose(projection.ranking, singular[:3] ** 2 / (x.shape[0] - 1), rtol=1e-6)
    reconstructed = projection.reconstruct(projection.transform(x))
    residual = np.linalg.norm(x - reconstructed) ** 2
    assert residual == pytest.approx((singular[3:] ** 2).sum(), rel=1e-5)


def test_aviris_ng_bad_bands_and_resampling(shared_data: Path) -> None:
    scene = read(shared_data / AVIRIS_NG)
    kept = run_chain(scene, parse_steps([{"bad_bands": {"header": True, "water_windows": []}}]))
    assert kept.sizes["band"] == 373  # the header's bbl
    out = run_chain(scene, parse_steps(["radiometric", {"resample": {"sensor": "aviris"}}]))
    wl, fwhm = scene["wavelength"].values, scene["fwhm"].values
    good = scene["good_band"].values.astype(bool)
    values = scene["cube"].values.astype(np.float64)
    target_wl = out["wavelength"].values
    target_fwhm = out["fwhm"].values
    got = out["cube"].values
    for i in (0, 30, 100, 180):  # an explicit Gaussian-weighted mean over the good source bands
        sigma = target_fwhm[i] / 2.3548200450309493
        w = np.exp(-0.5 * ((wl[good] - target_wl[i]) / sigma) ** 2)
        np.testing.assert_allclose(got[..., i], values[..., good] @ w / w.sum(), rtol=1e-4)
    assert fwhm.size == 432 and got.shape == (10, 10, 224)
