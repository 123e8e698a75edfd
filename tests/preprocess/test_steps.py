"""The registered steps: a conformance suite over every name, the chain against a NumPy reference chain,
the store written by the stage, patches without leakage, and the same result on every scheduler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from spectraflow import methods
from spectraflow.cube import make_scene, validate_scene
from spectraflow.errors import ConfigError
from spectraflow.io import open_store, write_store
from spectraflow.preprocess import (
    PatchConfig,
    chain_records,
    extract_patches,
    invert,
    parse_steps,
    patch_table,
    preprocess_store,
    run_chain,
    tile_windows,
)

# parameters each step needs to run on the small random scene below (defaults otherwise)
STEP_PARAMS: dict[str, dict[str, Any]] = {
    "pca": {"n_components": 16},  # all bands, so the inverse must be exact
    "mnf": {"n_components": 16},
    "savgol": {"window": 5},
    "resample": {"wavelength": [450.0, 600.0, 750.0], "fwhm": [30.0, 30.0, 30.0]},
    "bad_bands": {"min_snr": 0.5},
}
# one parameter value each step must refuse, with the field the message must name
BAD_PARAMS: dict[str, tuple[str, Any]] = {
    "radiometric": ("dtype", "int8"),
    "bad_bands": ("water_windows", [[1400, 1300]]),
    "normalize": ("method", "zscore"),
    "savgol": ("window", 4),
    "continuum_removal": ("window", 3),
    "anscombe": ("offset", 0.375),
    "pca": ("n_components", 0),
    "mnf": ("noise", "psychic"),
    "resample": ("fwhm", [-1.0]),
}


def _scene(rng: np.random.Generator, shape: tuple[int, int, int] = (40, 36, 16), *, nodata: float | None = None,
           chunks: tuple[int, int] = (20, 12)) -> xr.Dataset:
    ny, nx, nb = shape
    wavelength = np.linspace(400, 900, nb)
    smooth = np.cumsum(rng.normal(size=(ny, nx, nb)), axis=2) * 10 + 2000
    dn = np.clip(smooth, 0, 30000).astype(np.int16)
    if nodata is not None:
        dn[:3, :2] = nodata
    good = np.ones(nb, dtype=bool)
    good[-1] = False
    scene = make_scene(da.from_array(dn, chunks=(*chunks, nb)), wavelength=wavelength, fwhm=np.full(nb, 30.0),
                       good_band=good, units="reflectance", data_scale=10000.0, nodata=nodata, sensor="test")
    return scene.assign_attrs(name="random", source_file="random.img")


@pytest.mark.parametrize("name", methods.names("preprocess"))
class TestStepConformance:
    def test_lazy_whole_spectra_and_data_model(self, name: str) -> None:
        scene = _scene(np.random.default_rng(0))
        (step,) = parse_steps([{name: STEP_PARAMS.get(name, {})}])
        out = run_chain(scene, [step])
        validate_scene(out, name)
        cube = out["cube"]
        assert isinstance(cube.data, da.Array), f"{name} computed its result instead of staying lazy"
        assert len(cube.chunks[2]) == 1, f"{name} split spectra across chunks"
        values = cube.values
        assert values.shape[:2] == scene["cube"].shape[:2]
        (record,) = chain_records(out)
        assert record["step"] == name and record["params"] == json.loads(json.dumps(step.params()))
        if step.invertible:
            restored = invert(cube, [record])
            expected = scene["cube"].values.astype(np.float64)  # what the step saw: stored DN
            assert values.dtype.kind == "f"
            assert np.allclose(np.asarray(restored), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())

    def test_bad_parameter_names_step_and_field(self, name: str) -> None:
        field, value = BAD_PARAMS[name]
        with pytest.raises(ConfigError, match=rf"{name}.*{field}"):
            parse_steps([{name: {**STEP_PARAMS.get(name, {}), field: value}}])


def test_every_step_has_a_bad_parameter_case() -> None:
    assert set(BAD_PARAMS) == set(methods.names("preprocess"))


def test_unknown_step_and_malformed_chain() -> None:
    with pytest.raises(ConfigError, match=r"\[0\].*unknown preprocess method 'smooth'.*savgol"):
        parse_steps([{"smooth": {}}])
    with pytest.raises(ConfigError, match=r"\[1\]"):
        parse_steps(["radiometric", {"a": 1, "b": 2}])


def _reference_chain(dn: np.ndarray, nodata: float, data_scale: float, good: np.ndarray,
                     wavelength: np.ndarray) -> np.ndarray:
    """The chain radiometric → bad bands → robust per-band normalise → Savitzky–Golay → PCA(3), in NumPy."""
    from scipy.signal import savgol_filter

    x = dn.astype(np.float64) / data_scale
    x[dn == nodata] = np.nan
    keep = good & ~((wavelength >= 1340) & (wavelength <= 1450))
    x = x[..., keep]
    pixels = x.reshape(-1, x.shape[-1])
    valid = np.isfinite(pixels).all(axis=1)
    low, high = np.percentile(pixels[valid], [2, 98], axis=0)
    pixels = np.clip((pixels - low) / (high - low), 0, 1)
    pixels[valid] = savgol_filter(pixels[valid], 7, 2, axis=-1)
    x = pixels.reshape(x.shape)
    mean = pixels[valid].mean(axis=0)
    _, _, vt = np.linalg.svd(pixels[valid] - mean, full_matrices=False)
    return ((x - mean) @ vt[:3].T)


CHAIN = [
    "radiometric",
    {"bad_bands": {"header": True, "water_windows": [[1340, 1450]]}},
    {"normalize": {"method": "robust", "per_band": True, "percentiles": [2, 98]}},
    {"savgol": {"window": 7, "order": 2}},
    {"pca": {"n_components": 3}},
]


def test_chain_matches_numpy_reference() -> None:
    rng = np.random.default_rng(11)
    ny, nx, nb = 48, 40, 30
    wavelength = np.linspace(1000, 1800, nb)
    dn = (np.cumsum(rng.normal(size=(ny, nx, nb)), axis=2) * 20 + 3000).astype(np.int16)
    dn[5:8, 3] = -9999
    good = np.ones(nb, dtype=bool)
    good[[0, 17]] = False
    scene = make_scene(da.from_array(dn, chunks=(16, 20, nb)), wavelength=wavelength, good_band=good,
                       data_scale=10000.0, nodata=-9999, units="reflectance")
    out = run_chain(scene, parse_steps(CHAIN))
    expected = _reference_chain(dn, -9999, 10000.0, good, wavelength)
    got = out["cube"].values
    assert np.array_equal(np.isnan(got).any(axis=-1), (dn == -9999).any(axis=-1))  # the mask travelled
    assert not out["valid"].values[5:8, 3].any() and out["valid"].values.sum() == ny * nx - 3
    finite = np.isfinite(expected)
    # components agree up to sign; percentiles come from a sketch, so allow a small tolerance
    signs = np.sign(np.nansum(got * expected, axis=(0, 1)))
    scale = np.nanstd(expected, axis=(0, 1))
    assert np.abs(got * signs - expected)[finite].max() < 0.02 * scale.max()
    records = chain_records(out)
    assert [r["step"] for r in records] == ["radiometric", "bad_bands", "normalize", "savgol", "pca"]
    assert records[1]["fitted"]["removed"] == sorted({0, 17} | set(np.flatnonzero(
        (wavelength >= 1340) & (wavelength <= 1450)).tolist()))


def test_stage_writes_a_store_with_provenance_mask_and_patches(tmp_path: Path) -> None:
    scene = _scene(np.random.default_rng(12), nodata=-1)
    source = write_store(scene, tmp_path / "in.zarr")
    patches = PatchConfig(size=8, overlap=2, region=16, val_fraction=0.25, pad=2, seed=3)
    steps = parse_steps(["radiometric", {"normalize": {"method": "minmax"}}])
    dest = preprocess_store(source, tmp_path / "out.zarr", steps, patches=patches)
    out = open_store(dest)
    assert out.attrs["input_store"] == str(source) and out.attrs["source_file"] == "random.img"
    assert [r["step"] for r in chain_records(out)] == ["radiometric", "normalize"]
    valid = out["valid"].values
    assert not valid[:3, :2].any() and valid.sum() == valid.size - 6
    values = out["cube"].values
    assert np.nanmin(values) == 0.0 and np.nanmax(values) == 1.0
    # the recorded statistics give back the physical values
    physical = open_store(source)["cube"].values / 10000.0
    restored = np.asarray(invert(out["cube"], chain_records(out)))
    np.testing.assert_allclose(restored[valid], physical[valid], rtol=1e-5)
    table = patch_table(scene.sizes["y"], scene.sizes["x"], patches)
    np.testing.assert_array_equal(out["patch_y"].values, table["y"])
    np.testing.assert_array_equal(out["patch_split"].values, table["split"])


def _footprint(y0: int, x0: int, size: int, height: int, width: int) -> set[tuple[int, int]]:
    """Image pixels a patch reads, reflection at the edges mapped back inside (NumPy's reflect mode)."""
    rows = np.pad(np.arange(height), size, mode="reflect")[np.arange(y0, y0 + size) + size]
    cols = np.pad(np.arange(width), size, mode="reflect")[np.arange(x0, x0 + size) + size]
    return {(int(r), int(c)) for r in rows for c in cols}


@pytest.mark.parametrize("height,width,config", [
    (50, 70, PatchConfig(size=8, overlap=4, region=16, val_fraction=0.3, pad=3, seed=1)),
    (33, 33, PatchConfig(size=10, overlap=0, region=10, val_fraction=0.5, pad=0, seed=2)),
    (64, 40, PatchConfig(size=16, overlap=8, region=32, val_fraction=0.25, pad=7, seed=0)),
])
def test_patches_do_not_leak_across_the_split(height: int, width: int, config: PatchConfig) -> None:
    table = patch_table(height, width, config)
    assert table["split"].any() and not table["split"].all()
    again = patch_table(height, width, config)
    assert all(np.array_equal(table[k], again[k]) for k in table)  # reproducible for a seed
    splits: dict[int, set[tuple[int, int]]] = {0: set(), 1: set()}
    for y0, x0, split in zip(table["y"], table["x"], table["split"], strict=True):
        assert -config.pad <= y0 and y0 + config.size <= height + config.pad
        splits[int(split)] |= _footprint(int(y0), int(x0), config.size, height, width)
    assert not splits[0] & splits[1]
    # patches read exactly what reflection padding gives
    rng = np.random.default_rng(0)
    image = rng.normal(size=(height, width, 3))
    padded = np.pad(image, ((config.size,) * 2, (config.size,) * 2, (0, 0)), mode="reflect")
    got = extract_patches(xr.DataArray(image, dims=("y", "x", "band")), table["y"][:20], table["x"][:20],
                          config.size)
    for patch, y0, x0 in zip(got, table["y"][:20], table["x"][:20], strict=True):
        window = padded[y0 + config.size:y0 + 2 * config.size, x0 + config.size:x0 + 2 * config.size]
        np.testing.assert_array_equal(patch, window)


def test_tiles_cover_the_image_with_the_overlap() -> None:
    windows = tile_windows(100, 75, tile=32, overlap=8)
    covered = np.zeros((100, 75), dtype=int)
    for w in windows:
        covered[w.slices] += 1
        assert w.height == 32 and w.width == 32
    assert covered.min() >= 1
    assert sorted({w.y0 for w in windows}) == [0, 24, 48, 68]
    with pytest.raises(ConfigError, match="overlap"):
        tile_windows(10, 10, tile=4, overlap=4)


@pytest.mark.parametrize("bad", [{"size": 8, "region": 4}, {"size": 8, "pad": 4}, {"val_fraction": 1.0},
                                 {"overlap": 32}])
def test_bad_patch_config(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="preprocess.patches"):
        PatchConfig(**bad)


@pytest.mark.slow
def test_same_result_on_threads_and_a_process_cluster(tmp_path: Path) -> None:
    from spectraflow.compute import dask_scheduler

    scene = _scene(np.random.default_rng(13), shape=(60, 48, 20))
    source = write_store(scene, tmp_path / "in.zarr")
    steps = parse_steps(CHAIN[:4] + [{"mnf": {"n_components": 5}}])
    results = {}
    for scheduler in ("threads", "processes"):
        with dask_scheduler(scheduler, n_workers=2, memory_limit="1GiB"):
            dest = preprocess_store(source, tmp_path / f"{scheduler}.zarr", steps)
        results[scheduler] = open_store(dest)["cube"].values
    np.testing.assert_allclose(results["threads"], results["processes"], rtol=1e-5, atol=1e-5)


def test_the_snr_test_skips_bands_the_source_flags_even_when_they_are_all_nodata() -> None:
    """EnMAP L2A: the bands of the 1.4 µm gap are flagged (bbl 0) and hold only nodata; the SNR of the other
    bands is still estimated, and a noisy kept band is still removed."""
    from spectraflow.preprocess import to_physical
    from spectraflow.preprocess._bands import band_snr

    rng = np.random.default_rng(11)
    data = np.cumsum(rng.normal(size=(24, 20, 10)), axis=2) + 50.0
    data[..., 7] = rng.normal(0.0, 40.0, size=(24, 20))  # pure noise: a low SNR
    data[..., 3] = -32768  # the flagged gap, all nodata
    good = np.ones(10, bool)
    good[3] = False
    scene = to_physical(make_scene(data.astype(np.float32), wavelength=np.linspace(400, 900, 10), good_band=good,
                                   nodata=-32768))
    expected = band_snr(scene["cube"].isel(band=[0, 1, 2, 4, 5, 6, 7, 8, 9]), "shift_difference")
    step = methods.get("preprocess", "bad_bands")(water_windows=[], min_snr=float(np.sort(expected)[1]))
    out, fitted = step.apply(scene)
    assert fitted["reasons"]["header"] == [3]
    kept = [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert fitted["reasons"]["snr"] == [kept[i] for i in np.flatnonzero(expected < np.sort(expected)[1])]
    assert 7 in fitted["reasons"]["snr"] and out.sizes["band"] == 10 - 1 - len(fitted["reasons"]["snr"])


def test_anscombe_gives_poisson_counts_of_every_mean_unit_variance() -> None:
    rng = np.random.default_rng(int(np.random.default_rng().integers(1 << 32)))
    means = np.array([4.0, 20.0, 100.0, 1000.0, 20000.0])
    counts = rng.poisson(means, size=(200, 100, means.size)).astype(np.float32)
    (step,) = parse_steps([{"anscombe": {}}])
    out = run_chain(make_scene(da.from_array(counts, chunks=(50, 50, means.size)), units="counts"), [step])
    stabilised = out["cube"].values.reshape(-1, means.size)
    np.testing.assert_allclose(stabilised.var(axis=0), 1.0, rtol=0.08)  # the raw variances span 4 to 20000
    np.testing.assert_allclose(stabilised, 2 * np.sqrt(counts.reshape(-1, means.size) + 0.375), rtol=1e-6)
