"""The fusion methods on scenes made by the sensor model (where the truth is known) and on the real Paris pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectraflow import datasets
from spectraflow.errors import ConfigError
from spectraflow.methods import get, names
from spectraflow.methods.fusion import SRData, degrade, reduced_resolution, train_sr_cnn, upsample
from spectraflow.metrics import mpsnr, qnr, sam
from spectraflow.train import TrainConfig


def _scene(seed: int, size: int = 64, bands: int = 40, materials: int = 3) -> np.ndarray:
    """Abundances of sharp-edged discs and rectangles over smooth shading, mixing smooth positive spectra:
    ``(size, size, bands)``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    fields = []
    for _ in range(materials):
        field = 0.2 + 0.1 * np.cos(2 * np.pi * (rng.uniform(0.5, 2) * xx + rng.uniform(0.5, 2) * yy))
        for _ in range(6):
            cy, cx, radius = rng.uniform(0, 1, 2).tolist() + [rng.uniform(0.03, 0.15)]
            field += ((yy - cy) ** 2 + (xx - cx) ** 2 < radius**2)
            y0, x0 = rng.uniform(0, 1, 2)
            field += (yy > y0) & (yy < y0 + rng.uniform(0.02, 0.2)) & (xx > x0) & (xx < x0 + rng.uniform(0.02, 0.3))
        fields.append(field)
    abundances = np.stack(fields, -1)
    abundances /= abundances.sum(-1, keepdims=True)
    grid = np.linspace(0, 1, bands)
    spectra = np.stack([0.2 + 0.6 * np.abs(np.sin(np.pi * (rng.uniform(0.5, 3) * grid + rng.uniform())))
                        for _ in range(materials)])
    return abundances @ spectra


def _cube(values: np.ndarray) -> xr.DataArray:
    return xr.DataArray(values, dims=("y", "x", "band")) if values.ndim == 3 else xr.DataArray(values, dims=("y", "x"))


def test_the_family_is_registered() -> None:
    assert {"cubic", "gsa", "mtf_glp", "subspace", "sr_cnn"} <= set(names("fuse"))


def test_mtf_glp_recovers_bands_that_are_combinations_of_the_guide_exactly() -> None:
    # every band is a linear combination of the multispectral bands: the per-band guides are the bands
    reference = _scene(0)
    srf = np.zeros((4, 40))
    for m, (lo, hi) in enumerate([(0, 10), (10, 20), (20, 30), (30, 40)]):
        srf[m, lo:hi] = 0.1
    low, ms, reference = reduced_resolution(reference, 4, srf)
    fused = get("fuse", "mtf_glp")().fuse(_cube(low), _cube(ms)).values
    cubic = get("fuse", "cubic")().fuse(_cube(low), _cube(ms)).values
    assert mpsnr(fused, reference) > 100 > mpsnr(cubic, reference) + 60


@pytest.mark.parametrize("name", ["gsa", "mtf_glp", "subspace"])
@pytest.mark.parametrize("guide", ["pan", "ms"])
def test_every_guided_method_beats_interpolation(name: str, guide: str) -> None:
    reference = _scene(1)
    srf = np.full((1, 40), 1 / 40) if guide == "pan" else np.kron(np.eye(5), np.full((1, 8), 1 / 8))
    low, image, reference = reduced_resolution(reference, 4, srf[0] if guide == "pan" else srf)
    cubic = mpsnr(get("fuse", "cubic")().fuse(_cube(low), _cube(image)).values, reference)
    fused = get("fuse", name)().fuse(_cube(low), _cube(image))
    assert fused.dims == ("y", "x", "band") and fused.shape == reference.shape
    assert fused.attrs["fusion"] == name and fused.attrs["resolution_ratio"] == 4
    assert mpsnr(fused.values, reference) > cubic + 1.5


def test_gsa_is_its_definition() -> None:
    """GSA from its moments (what lets a lazy pair be fitted in passes) against its definition written directly:
    the least-squares intensity, the guide matched to its mean and spread, each band's regression gain."""
    low, image, _ = reduced_resolution(_scene(5), 4, np.full(40, 1 / 40))
    interpolated = upsample(low, 4, image.shape)
    weights = np.linalg.lstsq(np.column_stack([low.reshape(-1, 40), np.ones(low[..., 0].size)]),
                              degrade(image, 4).ravel(), rcond=None)[0]
    intensity = interpolated @ weights[:-1] + weights[-1]
    matched = (image - image.mean()) * intensity.std() / image.std() + intensity.mean()
    centred = intensity - intensity.mean()
    gains = np.einsum("yxb,yx->b", interpolated - interpolated.mean(axis=(0, 1)), centred) / (centred**2).sum()
    expected = interpolated + gains * (matched - intensity)[:, :, None]
    np.testing.assert_allclose(get("fuse", "gsa")().fuse(_cube(low), _cube(image)).values, expected,
                               atol=1e-9 * np.ptp(expected))


@pytest.mark.parametrize("name", ["mtf_glp", "gsa", "cubic"])
@pytest.mark.parametrize("guide", ["pan", "ms"])
def test_a_lazy_cube_is_fused_tile_by_tile_as_the_whole_image_is(name: str, guide: str) -> None:
    seed = {"pan": 3, "ms": 4}[guide]
    reference = _scene(seed, size=96)
    srf = np.full((1, 40), 1 / 40) if guide == "pan" else np.kron(np.eye(5), np.full((1, 8), 1 / 8))
    low, image, reference = reduced_resolution(reference, 4, srf[0] if guide == "pan" else srf)
    whole = get("fuse", name)().fuse(_cube(low), _cube(image)).values
    # an 8 MiB budget: tiles of 6 to 12 coarse pixels, read from blocks that do not line up with them
    fuser = get("fuse", name)(memory_mb=8)
    lazy = fuser.fuse(_cube(low).chunk({"y": 7, "x": 9}), _cube(image).chunk({"y": 20, "x": 30}))
    assert lazy.chunks is not None and len(lazy.chunks[0]) > 2 and len(lazy.chunks[1]) > 2
    assert lazy.shape == whole.shape and lazy.attrs["fusion"] == name
    np.testing.assert_allclose(lazy.values, whole, atol=1e-5 * np.ptp(whole))
    # with no halo the interpolation's reach leaves seams between tiles
    cut = get("fuse", name)(memory_mb=2, halo=0).fuse(_cube(low).chunk({"y": 7}), _cube(image)).values
    assert np.abs(cut - whole).max() > 1e-3 * np.ptp(whole)


@pytest.mark.parametrize("name", ["mtf_glp", "gsa", "subspace"])
def test_a_lazy_fit_holds_a_few_blocks_of_the_cube_at_a_time(name: str) -> None:
    """The scene-wide fit is one pass that keeps little of the cube in memory: the results dask holds at once
    (measured after every task) stay a small part of the fine cube (float64), whatever the chunks of the pair.
    gsa's fit held all of it (sums over the pixels split by channel blocks each needed every pixel block)."""
    import dask
    from dask.callbacks import Callback

    low, image, _ = reduced_resolution(_scene(5, size=192), 4, np.full(40, 1 / 40))
    held = [0]

    class Held(Callback):
        def _posttask(self, key: object, result: object, dsk: object, state: dict, worker_id: object) -> None:
            held[0] = max(held[0], sum(getattr(v, "nbytes", 0) for v in state["cache"].values()))

    fuser = get("fuse", name)(memory_mb=8)
    hs, guide = _cube(low).chunk({"y": 6, "x": 24}).data, _cube(image).chunk({"y": 32}).data[:, :, None]
    with dask.config.set(scheduler="sync"), Held():
        fuser.fit(hs, guide, 4)  # (its result: the lazy fusion tests above)
    assert 0 < held[0] < 0.25 * image.size * low.shape[2] * 8


def test_subspace_fuses_a_lazy_cube_tile_by_tile_with_invisible_seams() -> None:
    """The convex solve couples every pixel, but a pixel's solution hardly depends on pixels beyond the halo: the
    tiles' result is the whole image's within 1e-3 of its range (measured: 5e-4, 105 dB apart) and scores the
    same against the truth; without the halo the seams show."""
    low, image, reference = reduced_resolution(_scene(3, size=96), 4, np.full(40, 1 / 40))
    whole = get("fuse", "subspace")().fuse(_cube(low), _cube(image)).values
    lazy = get("fuse", "subspace")(memory_mb=24).fuse(_cube(low).chunk({"y": 7, "x": 9}),
                                                      _cube(image).chunk({"y": 20, "x": 30}))
    assert lazy.chunks is not None and len(lazy.chunks[0]) > 1 and len(lazy.chunks[1]) > 1
    np.testing.assert_allclose(lazy.values, whole, atol=1e-3 * np.ptp(whole))
    assert mpsnr(lazy.values, reference) == pytest.approx(mpsnr(whole, reference), abs=0.01)
    cut = get("fuse", "subspace")(memory_mb=2, halo=0).fuse(_cube(low).chunk({"y": 7}), _cube(image)).values
    assert np.abs(cut - whole).max() > 1e-2 * np.ptp(whole)


def test_subspace_uses_given_spectral_responses() -> None:
    reference = _scene(2)
    srf = np.kron(np.eye(5), np.full((1, 8), 1 / 8))
    low, ms, reference = reduced_resolution(reference, 4, srf)
    method = get("fuse", "subspace")()
    given = method.fuse(_cube(low), _cube(ms), srf=srf).values
    estimated = method.fuse(_cube(low), _cube(ms)).values
    assert mpsnr(given, reference) > 35 and mpsnr(estimated, reference) > 35
    with pytest.raises(ConfigError, match="srf of shape"):
        method.fuse(_cube(low), _cube(ms), srf=srf[:, :10])


def test_bad_inputs_are_refused_with_what_was_expected() -> None:
    low = _cube(np.ones((16, 16, 5)))
    with pytest.raises(ConfigError, match="integer resolution ratio"):
        get("fuse", "gsa")().fuse(low, _cube(np.ones((50, 50))))
    with pytest.raises(ConfigError, match="needs a guide"):
        get("fuse", "gsa")().superresolve(low, 4)
    with pytest.raises(ConfigError, match="non-finite"):
        get("fuse", "mtf_glp")().fuse(low.where(low.y > 0), _cube(np.ones((64, 64))))
    for name in ("gsa", "cubic"):  # lazy: found as its tiles are read
        with pytest.raises(ConfigError, match="guide holds non-finite"):
            get("fuse", name)().fuse(low.chunk({"y": 8}), _cube(np.ones((64, 64))).where(lambda g: g.x < 60)).compute()
        with pytest.raises(ConfigError, match="non-finite"):
            get("fuse", name)().fuse(low.where(low.y > 0).chunk({"y": 8}), _cube(np.ones((64, 64)))).compute()
    with pytest.raises(ConfigError, match="hs holds non-finite"):  # a single image is fused in memory
        get("fuse", "cubic")().superresolve(low.where(low.y > 0).chunk({"y": 8}), 4)
    with pytest.raises(ConfigError, match="positive integer"):
        get("fuse", "cubic")().superresolve(low, 0)
    with pytest.raises(ConfigError, match="rank"):
        get("fuse", "subspace")(rank=0)
    with pytest.raises(ConfigError, match="checkpoint"):
        get("fuse", "sr_cnn")()
    assert get("fuse", "cubic")().superresolve(low, 3).shape == (48, 48, 5)


def test_sr_cnn_trains_on_other_scenes_and_beats_interpolation_on_a_new_one(tmp_path: Path) -> None:
    checkpoint = tmp_path / "sr"
    history = train_sr_cnn([_scene(s, 64, 24) for s in range(10, 16)], [_scene(20, 64, 24)], checkpoint, ratio=4,
                           train=TrainConfig(epochs=20, seed=0), data=SRData(batch_size=16, steps=20, patch=32),
                           progress=False)
    assert history.best_epoch >= 0 and (checkpoint / "model.json").is_file()
    low, _, reference = reduced_resolution(_scene(30, 64, 24), 4)
    method = get("fuse", "sr_cnn")(checkpoint=str(checkpoint))
    learned = method.superresolve(_cube(low * 7.0), 4).values / 7.0  # the radiometric scale does not matter
    cubic = get("fuse", "cubic")().superresolve(_cube(low), 4).values
    assert mpsnr(learned, reference) > mpsnr(cubic, reference) + 0.6  # +0.98 dB measured (seed 0)
    with pytest.raises(ConfigError, match="trained for ratio 4"):
        method.superresolve(_cube(low), 2)
    # a lazy scene onto its companion's grid, tile by tile (tiles of 5 to 7 coarse pixels), as in one piece
    tiled = get("fuse", "sr_cnn")(checkpoint=str(checkpoint), memory_mb=10)
    lazy = tiled.fuse(_cube(low * 7.0).chunk({"y": 5, "x": 7}), _cube(np.zeros((64, 64))).chunk({"y": 24}))
    assert lazy.chunks is not None and len(lazy.chunks[0]) > 1 and len(lazy.chunks[1]) > 1
    np.testing.assert_allclose(lazy.values / 7.0, learned, atol=1e-4 * np.ptp(learned))
    # a larger lazy scene's band scales come from max_pixels pixels of evenly spaced rows
    sampled = get("fuse", "sr_cnn")(checkpoint=str(checkpoint), max_pixels=64).fuse(
        _cube(low).chunk({"y": 4}), _cube(np.zeros((64, 64))))
    assert mpsnr(sampled.values, reference) > mpsnr(cubic, reference) + 0.5


def test_paris_pairs_load_with_their_bands_and_responses(shared_data: Path) -> None:
    ms = datasets.load("paris_hs_ms", shared_data)
    assert ms["cube"].shape == (72, 72, 128) and ms["ms"].shape == (72, 72, 9)
    assert int(ms["hyperion_band"][0]) == 8 and float(ms["wavelength"][0]) == pytest.approx(426.8, abs=0.1)
    np.testing.assert_allclose(ms["srf"].sum("band"), 1.0)
    pan = datasets.load("paris_hs_pan", shared_data)
    assert pan["cube"].shape == (72, 58, 128) and pan["pan"].shape == (216, 174)
    visible = pan["wavelength"].values[pan["pan_srf"].values > 0]
    assert visible.min() >= 480 and visible.max() <= 690


def _normalised(values: np.ndarray) -> np.ndarray:
    return values / np.quantile(values.reshape(-1, values.shape[-1]) if values.ndim == 3 else values, 0.999, axis=0)


def test_paris_hs_ms_fusion_meets_the_floors(shared_data: Path) -> None:
    # the reduced-resolution protocol on the real Hyperion cube, the ALI responses simulating the MS image
    scene = datasets.load("paris_hs_ms", shared_data)
    low, ms, reference = reduced_resolution(_normalised(scene["cube"].values), 3, scene["srf"].values)
    psnr = {name: mpsnr(get("fuse", name)().fuse(_cube(low), _cube(ms)).values, reference)
            for name in ("cubic", "gsa", "mtf_glp")}
    assert psnr["mtf_glp"] >= psnr["cubic"] + 5 and psnr["mtf_glp"] >= psnr["gsa"] + 1
    assert sam(get("fuse", "mtf_glp")().fuse(_cube(low), _cube(ms)).values, reference) < sam(
        get("fuse", "gsa")().fuse(_cube(low), _cube(ms)).values, reference)


def test_paris_pansharpening_at_full_resolution_beats_gsa_on_qnr(shared_data: Path) -> None:
    scene = datasets.load("paris_hs_pan", shared_data)
    hs, pan = _normalised(scene["cube"].values), _normalised(scene["pan"].values)
    scores = {name: qnr(get("fuse", name)().fuse(_cube(hs), _cube(pan)).values, hs, pan, 3)["qnr"]
              for name in ("gsa", "subspace")}
    assert scores["subspace"] >= scores["gsa"]
