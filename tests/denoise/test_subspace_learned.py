"""The learned eigen-image prior: untrained it is the classical subspace method it refines; trained on one scene it
beats that method on others."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from spectraflow import methods
from spectraflow.config import TrainDenoiseConfig
from spectraflow.errors import ConfigError
from spectraflow.io import write_store
from spectraflow.methods.denoisers import DenoiserData, train_denoiser
from spectraflow.methods.denoisers._training import PROBE, _eigen_image_patches, sure_loss
from spectraflow.methods.denoisers.subspace_learned import build_prior
from spectraflow.metrics import mpsnr
from spectraflow.preprocess import PatchConfig, parse_steps, preprocess_store
from spectraflow.synth import add_noise, synthetic_scene
from spectraflow.train import TrainConfig, read_checkpoint, save_checkpoint

from . import scaled_scene

NOISE = {"case": "gaussian", "sigma": 40}  # the noise of the tests; the prior trains on it and on non-i.i.d. noise


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("prior")
    raw = write_store(synthetic_scene(4, height=96, width=96), tmp / "scene.zarr")
    steps = parse_steps([{"bad_bands": {"header": True}}, {"normalize": {"method": "minmax"}}])
    store = preprocess_store(raw, tmp / "pre.zarr", steps,
                             patches=PatchConfig(size=24, overlap=8, region=48, val_fraction=0.25))
    history = train_denoiser(store, tmp / "model", model="subspace_learned", network={"width": 16, "depth": 5},
                             train=TrainConfig(epochs=8, lr=3e-3, threads=2),
                             data=DenoiserData(batch_size=16, steps=25, draws=2),
                             noise=[NOISE, {"case": "noniid"}], progress=False)
    return tmp / "model", history


def _saved_prior(checkpoint: Path, output_std: float = 0.0) -> torch.nn.Module:
    """A small untrained prior saved at ``checkpoint``: its output layer zero (its correction zero, as training starts)
    or, with ``output_std``, drawn (a correction that is not zero)."""
    torch.manual_seed(0)
    prior = build_prior(width=8, depth=3)
    if output_std:
        torch.nn.init.normal_(prior.out.weight, std=output_std)
    save_checkpoint(checkpoint, prior.state_dict(),
                    {"family": "denoise", "name": "subspace_learned", "config": {"width": 8, "depth": 3}})
    return prior


def test_an_untrained_prior_is_the_classical_method(tmp_path: Path) -> None:
    _saved_prior(tmp_path / "m")
    learned = methods.get("denoise", "subspace_learned")
    clean = scaled_scene(7)
    noisy = xr.DataArray(add_noise(clean, seed=0, **NOISE), dims=("y", "x", "band"))
    out = learned(checkpoint=str(tmp_path / "m"), wiener_share=0).denoise(noisy)
    assert type(learned.estimator()).name == "subspace_tv"
    reference = learned.estimator().denoise(noisy)
    np.testing.assert_allclose(out.values, reference.values, atol=1e-5)
    assert out.dims == noisy.dims and out.shape == noisy.shape


@pytest.mark.parametrize("weight", [0.7, 0.4])
def test_wiener_share_averages_in_subspace_tv(tmp_path: Path, weight: float) -> None:
    """The cube is affine in the eigen-images, so the average of the eigen-images is the average of the cubes: the
    result is ``(1 − share)`` × the network's alone + ``share`` × ``subspace_tv``'s (TV at its own weight, whatever
    the network's input), by a prior with a non-zero output."""
    _saved_prior(tmp_path / "m", output_std=0.05)
    learned = methods.get("denoise", "subspace_learned")
    noisy = xr.DataArray(add_noise(scaled_scene(7), seed=0, **NOISE), dims=("y", "x", "band"))
    alone = learned(checkpoint=str(tmp_path / "m"), weight=weight, wiener_share=0).denoise(noisy).values
    own = methods.get("denoise", "subspace_tv")().denoise(noisy).values
    assert np.abs(alone - own).max() > 0.01  # the two differ
    for share in (0.4, 0.75):
        averaged = learned(checkpoint=str(tmp_path / "m"), weight=weight, wiener_share=share)
        np.testing.assert_allclose(averaged.denoise(noisy).values, (1 - share) * alone + share * own, atol=1e-5)
        # the tiles are sized for the Wiener step's windows too
        bands = noisy.sizes["band"]
        without = learned(checkpoint=str(tmp_path / "m"), wiener_share=0).bytes_per_voxel(bands)
        assert averaged.bytes_per_voxel(bands) == pytest.approx(
            without + methods.get("denoise", "subspace_tv")().bytes_per_voxel(bands)
            - methods.get("denoise", "subspace_tv")(wiener=False).bytes_per_voxel(bands))


def _eigen_images(noisy: xr.DataArray, clean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The noisy and the clean eigen-images of ``subspace_tv``'s subspace, fitted to ``noisy``."""
    space = methods.get("denoise", "subspace_tv")().subspace_of(noisy)
    return space.eigen_images(noisy.values), space.eigen_images(clean.astype(np.float32))


def _squared_error(truth: np.ndarray, images: np.ndarray) -> float:
    return float(((images - truth) ** 2).sum())


def test_sure_shares_come_close_to_the_clean_images_best(trained: tuple[Path, object], tmp_path: Path) -> None:
    """``wiener_share: sure`` picks each eigen-image's share from the noisy one alone. Against the clean eigen-images
    (an independent reference): on scenes the prior never saw, its error is below both the network's and
    ``subspace_tv``'s, and within a few per cent of the best share's (fitted to the clean image); and a prior whose
    output is noise is dropped (share 1: ``subspace_tv``'s eigen-images)."""
    model, _ = trained
    _saved_prior(tmp_path / "noise", output_std=0.2)
    learned = methods.get("denoise", "subspace_learned")
    own = methods.get("denoise", "subspace_tv")()
    for seed, noise in ((11, NOISE), (13, {"case": "noniid"})):
        clean = scaled_scene(seed)
        noisy = xr.DataArray(add_noise(clean, seed=seed, **noise), dims=("y", "x", "band"))
        z, truth = _eigen_images(noisy, clean)
        error = partial(_squared_error, truth)
        refined, theirs = learned(checkpoint=str(model), wiener_share=0).smooth(z), own.smooth(z)
        sure = learned(checkpoint=str(model), wiener_share="sure").smooth(z)
        gap = theirs - refined
        best = np.clip(np.sum((truth - refined) * gap, axis=(1, 2)) / np.sum(gap * gap, axis=(1, 2)), 0, 1)
        assert error(sure) < min(error(refined), error(theirs))
        assert error(sure) < 1.04 * error(refined + best[:, None, None] * gap)
        dropped = learned(checkpoint=str(tmp_path / "noise"), wiener_share="sure").smooth(z)
        np.testing.assert_allclose(dropped, theirs, atol=0.02 * np.abs(theirs).max())


def test_trained_on_one_scene_it_beats_the_classical_method_on_others(trained: tuple[Path, object]) -> None:
    model, history = trained
    rows = history.rows  # type: ignore[attr-defined]
    assert rows[-1]["val_loss"] < 0.9 * rows[0]["val_loss"]
    meta, _ = read_checkpoint(model, family="denoise")
    assert meta["name"] == "subspace_learned" and meta["config"] == {"width": 16, "depth": 5}
    for seed in (11, 12):  # scenes the prior never saw, fresh noise
        clean = scaled_scene(seed)
        noisy = xr.DataArray(add_noise(clean, seed=seed, **NOISE), dims=("y", "x", "band"))
        learned = methods.get("denoise", "subspace_learned")(checkpoint=str(model)).denoise(noisy).values
        plain = methods.get("denoise", "subspace_tv")().denoise(noisy).values  # at its own defaults
        # after 200 steps: +0.51, +0.54 dB over subspace_tv with its Wiener step (the network alone, wiener_share 0:
        # +0.45, +0.51), which is +0.83, +0.92 over TV alone
        assert mpsnr(learned, clean) > mpsnr(plain, clean) + 0.3


def test_tiles_of_a_lazy_cube_match_the_whole_cube(trained: tuple[Path, object]) -> None:
    model, _ = trained
    clean = scaled_scene(13)
    noisy = xr.DataArray(add_noise(clean, seed=1, **NOISE), dims=("y", "x", "band"))
    denoiser = methods.get("denoise", "subspace_learned")
    whole = denoiser(checkpoint=str(model)).denoise(noisy).values
    tiled = denoiser(checkpoint=str(model), tile=24, halo=16).denoise(noisy.chunk({"y": 20, "x": 32}))
    assert tiled.chunks is not None
    assert abs(mpsnr(tiled.values, clean) - mpsnr(whole, clean)) < 0.05


def test_the_self_ensemble_averages_the_eight_symmetries(tmp_path: Path) -> None:
    """Against the average computed here with NumPy's own flips and turns, by a prior with a non-zero output."""
    prior = _saved_prior(tmp_path / "m", output_std=0.05)
    learned = methods.get("denoise", "subspace_learned")
    images = np.random.default_rng(3).standard_normal((3, 20, 28)).astype(np.float32)  # not square
    pairs = np.stack([images, learned.estimator().smooth(images)], axis=1).astype(np.float32)
    expected = np.zeros_like(images)
    for turns in range(4):
        for flip in (False, True):
            moved = np.rot90(pairs, turns, axes=(2, 3))
            moved = moved[..., ::-1] if flip else moved
            with torch.no_grad():
                out = prior(torch.from_numpy(np.ascontiguousarray(moved))).numpy()[:, 0]
            expected += np.rot90(out[..., ::-1] if flip else out, -turns, axes=(1, 2)) / 8
    with torch.no_grad():
        once = prior(torch.from_numpy(pairs)).numpy()[:, 0]
    alone = {"checkpoint": str(tmp_path / "m"), "wiener_share": 0}
    np.testing.assert_allclose(learned(**alone).smooth(images), expected, atol=1e-5)
    np.testing.assert_allclose(learned(**alone, self_ensemble=False).smooth(images), once, atol=1e-5)
    assert np.abs(expected - once).max() > 1e-3  # the symmetries do differ


def test_the_checkpoint_fixes_the_eigen_images_it_refines(trained: tuple[Path, object], tmp_path: Path) -> None:
    model, _ = trained
    meta, _ = read_checkpoint(model, family="denoise")
    assert meta["data"]["eigen_images"] == {"subspace": None, "min_subspace": 3, "drop_white": True, "weight": 0.7,
                                            "iterations": 100, "noise_method": "difference_regression"}
    noisy = xr.DataArray(add_noise(scaled_scene(14), seed=2, **NOISE), dims=("y", "x", "band"))
    with pytest.raises(ConfigError, match=r"min_subspace=6.*trained on the eigen-images of min_subspace=3"):
        methods.get("denoise", "subspace_learned")(checkpoint=str(model), min_subspace=6).denoise(noisy)
    # train_denoise.subspace: the patches are cut from the eigen-images of those settings
    store = meta["data"]["stores"][0]
    default = _eigen_image_patches(store, methods.get("denoise", "subspace_learned").estimator(), [NOISE], 1, 0)
    six = _eigen_image_patches(store, methods.get("denoise", "subspace_learned").estimator(min_subspace=6,
                                                                                           drop_white=False),
                               [NOISE], 1, 0)
    assert [len(p) for p in six] == [len(p) * 6 // 3 for p in default]  # the default: 3 (HySime k of the scene <= 3)
    # those six hold white ones, which the default leaves out (at most the six)
    tested = _eigen_image_patches(store, methods.get("denoise", "subspace_learned").estimator(min_subspace=6),
                                  [NOISE], 1, 0)
    counts = [[len(p) for p in patches] for patches in (default, tested, six)]
    assert all(d <= t < x for d, t, x in zip(*counts, strict=True))
    # a checkpoint records drop_white; one written before it did (stop 72) is taken either way
    untested = methods.get("denoise", "subspace_learned")(checkpoint=str(model), drop_white=False)
    with pytest.raises(ConfigError, match=r"drop_white=False.*trained on the eigen-images of drop_white=True"):
        untested.check_training(meta)
    untested.check_training({"data": {"eigen_images": {key: value for key, value in meta["data"]["eigen_images"].items()
                                                       if key != "drop_white"}}})
    wider = train_denoiser(store, tmp_path / "six", model="subspace_learned", network={"width": 4, "depth": 2},
                           train=TrainConfig(epochs=1, threads=2), data=DenoiserData(batch_size=4, steps=1),
                           noise=NOISE, subspace={"min_subspace": 6}, progress=False)
    assert wider.rows
    assert read_checkpoint(tmp_path / "six", family="denoise")[0]["data"]["eigen_images"]["min_subspace"] == 6
    out = methods.get("denoise", "subspace_learned")(checkpoint=str(tmp_path / "six"), min_subspace=6).denoise(noisy)
    assert out.shape == noisy.shape
    with pytest.raises(ConfigError, match="expected some of"):
        methods.get("denoise", "subspace_learned").estimator(min_subspaces=6)
    with pytest.raises(ConfigError, match=r"train_denoise.subspace.*model='qrnn3d'"):
        TrainDenoiseConfig(model="qrnn3d", subspace={"min_subspace": 6})
    with pytest.raises(ConfigError, match=r"train_denoise.subspace.*weight"):
        TrainDenoiseConfig(subspace={"weight": -1})


def test_mixtures_rotate_the_eigen_images_and_keep_their_noise_unit(trained: tuple[Path, object]) -> None:
    """``data.mixtures``: each draw's eigen-images also enter training rotated; a rotation keeps the noise unit and
    i.i.d. (checked against the noisy − clean residual), mixes the content (each rotated clean image a combination of
    several originals), and leaves the validation patches as they were."""
    model, _ = trained
    store = read_checkpoint(model, family="denoise")[0]["data"]["stores"][0]
    estimator = methods.get("denoise", "subspace_learned").estimator()
    plain = _eigen_image_patches(store, estimator, [NOISE], 1, 0)
    mixed = _eigen_image_patches(store, estimator, [NOISE], 1, 0, mixtures=4)
    assert len(mixed[0]) == 5 * len(plain[0]) and len(mixed[1]) == len(plain[1])
    np.testing.assert_array_equal(np.stack(mixed[1]), np.stack(plain[1]))
    k = 3  # the eigen-images of this scene (min_subspace): the patches come k at a time per corner
    extra = np.stack(mixed[0][len(plain[0]):])  # (patch, kind, y, x): noisy, TV, clean
    residual = extra[:, 0] - extra[:, 2]
    assert abs(residual.var() - 1) < 0.05 and abs(residual.mean()) < 0.02
    first = np.stack(plain[0][:k])[:, 2].reshape(k, -1)  # one corner's clean eigen-images, then rotated
    rotated = extra[:k, 2].reshape(k, -1)
    weights, *_ = np.linalg.lstsq(first.T, rotated.T, rcond=None)  # rotated = weightsᵀ @ original
    np.testing.assert_allclose(weights.T @ weights.T.T, np.eye(k), atol=1e-3)  # orthogonal
    assert (np.abs(weights) > 0.05).sum() > k  # not a permutation: content mixed
    with pytest.raises(ConfigError, match="mixtures"):
        DenoiserData(mixtures=-1)
    with pytest.raises(ConfigError, match="mixtures=2 with model='qrnn3d'"):
        train_denoiser(store, model / "never", model="qrnn3d", data=DenoiserData(mixtures=2))


def test_bad_configs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="checkpoint"):
        methods.get("denoise", "subspace_learned")()
    save_checkpoint(tmp_path / "q", {}, {"family": "denoise", "name": "qrnn3d", "config": {}})
    with pytest.raises(ConfigError, match="holds a 'qrnn3d'"):
        methods.get("denoise", "subspace_learned")(checkpoint=str(tmp_path / "q")).network  # noqa: B018
    with pytest.raises(ConfigError, match="model="):
        train_denoiser([], tmp_path / "m", model="dncnn")
    with pytest.raises(ConfigError, match="depth"):
        build_prior(width=8, depth=1)
    with pytest.raises(ConfigError, match="draws"):
        DenoiserData(draws=0)
    with pytest.raises(ConfigError, match="self_ensemble"):
        methods.get("denoise", "subspace_learned")(checkpoint=str(tmp_path / "q"), self_ensemble="yes")
    with pytest.raises(ConfigError, match="wiener"):  # the network refines TV's eigen-images
        methods.get("denoise", "subspace_learned")(checkpoint=str(tmp_path / "q"), wiener=True)
    for share in (-0.1, 1, "half", "SURE"):
        with pytest.raises(ConfigError, match="wiener_share"):
            methods.get("denoise", "subspace_learned")(checkpoint=str(tmp_path / "q"), wiener_share=share)


def test_sure_estimates_the_error_without_the_clean_image() -> None:
    """Monte-Carlo SURE of a soft threshold (a nonlinear denoiser) against its true mean squared error, on a
    fresh sparse image under unit Gaussian noise; and of a linear shrink, whose divergence the probe gets exactly."""
    rng = np.random.default_rng(5)
    clean = np.where(rng.random((4, 256, 256)) < 0.2, rng.normal(0, 4, (4, 256, 256)), 0.0)
    z = clean + rng.standard_normal(clean.shape)
    probe = rng.standard_normal(clean.shape)

    def threshold(v: np.ndarray) -> np.ndarray:
        return np.sign(v) * np.maximum(np.abs(v) - 1.0, 0.0)

    for denoiser in (threshold, lambda v: 0.7 * v):
        outputs = np.stack([denoiser(z), denoiser(z + PROBE * probe)], axis=1)
        estimate = float(sure_loss(torch.from_numpy(outputs), torch.from_numpy(np.stack([z, probe], axis=1))))
        assert estimate == pytest.approx(float(((denoiser(z) - clean) ** 2).mean()), abs=0.01)


def test_self_supervised_training_learns_from_the_noisy_scene_alone(tmp_path: Path) -> None:
    clean = scaled_scene(11, 96)
    noisy = add_noise(clean, seed=11, **NOISE).astype(np.float32)
    coords = {"wavelength": ("band", np.linspace(400.0, 2500.0, noisy.shape[2])),
              "good_band": ("band", np.ones(noisy.shape[2], bool))}
    raw = write_store(xr.Dataset({"cube": xr.DataArray(noisy, dims=("y", "x", "band"), coords=coords)}),
                      tmp_path / "noisy.zarr")
    store = preprocess_store(raw, tmp_path / "pre.zarr", [],
                             patches=PatchConfig(size=24, overlap=8, region=48, val_fraction=0.25))
    history = train_denoiser(store, tmp_path / "model", model="subspace_learned", mode="self_supervised",
                             network={"width": 16, "depth": 5}, train=TrainConfig(epochs=8, lr=3e-3, threads=2),
                             data=DenoiserData(batch_size=16, steps=25), progress=False)
    assert history.rows[-1]["val_loss"] < history.rows[0]["val_loss"]  # SURE on the validation regions
    meta, _ = read_checkpoint(tmp_path / "model", family="denoise")
    assert meta["data"]["mode"] == "self_supervised" and meta["data"]["noise"] is None
    cube = xr.DataArray(noisy, dims=("y", "x", "band"))  # the one cube it saw, and the one it denoises
    learned = methods.get("denoise", "subspace_learned")(checkpoint=str(tmp_path / "model"),
                                                         wiener_share=0).denoise(cube).values  # the network alone
    plain = methods.get("denoise", "subspace_tv")(wiener=False).denoise(cube).values  # the TV it refines
    # measured +1.13 dB after 200 steps (stop 69; averaged with subspace_tv, the default, +1.45, where subspace_tv
    # itself gains +1.14)
    assert mpsnr(learned, clean) > mpsnr(plain, clean) + 0.5
    for model, noise in (("qrnn3d", None), ("subspace_learned", NOISE)):
        with pytest.raises(ConfigError, match="self_supervised"):
            train_denoiser(store, tmp_path / "m", model=model, mode="self_supervised", noise=noise)
