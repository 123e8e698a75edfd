"""The built-in synthetic scene: seeded, physically plausible, exact ground truth, real ENVI path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spectraflow.errors import ConfigError
from spectraflow.io import ingest, open_store
from spectraflow.synth import endmember_spectra, sensor_grid, synthetic_scene, write_scene_envi


def test_same_seed_same_scene_other_seed_other_scene() -> None:
    a, b, c = (synthetic_scene(seed, height=32, width=40) for seed in (3, 3, 4))
    np.testing.assert_array_equal(a["cube"].values, b["cube"].values)
    assert not np.allclose(a["cube"].values, c["cube"].values)


@pytest.mark.parametrize("repeat", range(5))
def test_linear_mixture_on_the_simplex_with_pure_and_mixed_pixels(repeat: int) -> None:
    seed = int(np.random.default_rng().integers(1 << 30))
    print(f"seed {seed}")
    scene = synthetic_scene(seed, height=64, width=64)
    a, e, cube = scene["abundances"].values, scene["endmembers"].values, scene["cube"].values
    assert (a >= 0).all()
    np.testing.assert_allclose(a.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(np.einsum("yxk,kb->yxb", a.astype(np.float64), e), cube, atol=1e-5)
    pure = a.max(-1) > 0.999
    for k in range(a.shape[-1]):
        assert (pure & (a.argmax(-1) == k)).sum() >= 16  # a 4x4 pure patch per endmember at least
    assert (a.max(-1) < 0.8).mean() > 0.1  # and genuinely mixed regions
    assert 0 <= cube.min() and cube.max() <= 1


def test_spectra_have_their_physical_features() -> None:
    wl, _ = sensor_grid("aviris")
    veg, soil, water, kaol = endmember_spectra(["vegetation", "soil", "water", "kaolinite"], wl)
    at = lambda s, nm: s[np.argmin(abs(wl - nm))]  # noqa: E731
    assert at(veg, 850) / at(veg, 670) > 4  # red edge
    assert at(veg, 550) > at(veg, 670)  # green peak
    assert at(veg, 1450) < 0.6 * at(veg, 1650)  # leaf water
    assert at(water, 1000) < 0.02 < at(water, 450)  # water is dark in the near infrared
    assert at(kaol, 2207) < 0.85 * at(kaol, 2100)  # kaolinite doublet
    assert at(soil, 1000) > at(soil, 450)  # soils brighten towards the near infrared


def test_bad_bands_cover_the_water_windows() -> None:
    scene = synthetic_scene(0, height=8, width=8)
    wl, good = scene["wavelength"].values, scene["good_band"].values
    assert not good[(wl > 1360) & (wl < 1440)].any() and not good[wl > 2460].any()
    assert good[(wl > 500) & (wl < 1300)].all()


def test_envi_path_round_trip(tmp_path: Path) -> None:
    scene = synthetic_scene(1, height=24, width=20)
    header, _ = write_scene_envi(scene, tmp_path / "raw")
    store = ingest(header, tmp_path / "s.zarr", ground_truth=tmp_path / "raw/scene_groundtruth.nc")
    back = open_store(store)
    assert back["cube"].dtype == np.int16 and back["cube"].attrs["data_scale"] == 10000
    np.testing.assert_allclose(back["cube"].values / 10000, scene["cube"].values, atol=0.5e-4 + 1e-7)
    np.testing.assert_allclose(back["wavelength"].values, scene["wavelength"].values, rtol=1e-9)
    np.testing.assert_array_equal(back["abundances"].values, scene["abundances"].values)
    assert list(back["endmember"].values) == list(scene["endmember"].values)
    assert back["good_band"].values.tolist() == scene["good_band"].values.tolist()


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="endmembers"):
        synthetic_scene(0, endmembers=("vegetation", "unobtainium"))
    with pytest.raises(ConfigError, match="sensor"):
        sensor_grid("landsat")
