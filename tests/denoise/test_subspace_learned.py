"""The learned eigen-image prior: untrained it is the classical subspace method it refines; trained on one scene it
beats that method on others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr

from spectraflow import methods
from spectraflow.errors import ConfigError
from spectraflow.io import write_store
from spectraflow.methods.denoisers import DenoiserData, train_denoiser
from spectraflow.methods.denoisers.subspace_learned import build_prior
from spectraflow.metrics import mpsnr
from spectraflow.preprocess import PatchConfig, parse_steps, preprocess_store
from spectraflow.synth import add_noise, synthetic_scene
from spectraflow.train import TrainConfig, read_checkpoint, save_checkpoint

NOISE = {"case": "gaussian", "sigma": 40}
#: model → (the classical method it refines, the noise it trains for, the noise it is tested on)
MODELS = {"subspace_learned": ("subspace_tv", [NOISE, {"case": "noniid"}], NOISE)}


def _scene(seed: int, size: int = 64) -> np.ndarray:
    scene = synthetic_scene(seed, height=size, width=size)
    clean = scene["cube"].isel(band=np.flatnonzero(scene["good_band"].values)).values.astype(np.float64)
    return (clean - clean.min()) / (clean.max() - clean.min())


@pytest.fixture(scope="module", params=sorted(MODELS))
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, object]:
    tmp = tmp_path_factory.mktemp("prior")
    raw = write_store(synthetic_scene(4, height=96, width=96), tmp / "scene.zarr")
    steps = parse_steps([{"bad_bands": {"header": True}}, {"normalize": {"method": "minmax"}}])
    store = preprocess_store(raw, tmp / "pre.zarr", steps,
                             patches=PatchConfig(size=24, overlap=8, region=48, val_fraction=0.25))
    history = train_denoiser(store, tmp / "model", model=request.param, network={"width": 16, "depth": 5},
                             train=TrainConfig(epochs=8, lr=3e-3, threads=2),
                             data=DenoiserData(batch_size=16, steps=25, draws=2),
                             noise=MODELS[request.param][1], progress=False)
    return request.param, tmp / "model", history


def _untrained(path: Path, name: str) -> Path:
    torch.manual_seed(0)
    save_checkpoint(path, build_prior(width=8, depth=3).state_dict(),
                    {"family": "denoise", "name": name, "config": {"width": 8, "depth": 3}})
    return path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_an_untrained_prior_is_the_classical_method(name: str, tmp_path: Path) -> None:
    classical, _, noise = MODELS[name]
    learned = methods.get("denoise", name)
    clean = _scene(7)
    noisy = xr.DataArray(add_noise(clean, seed=0, **noise), dims=("y", "x", "band"))
    out = learned(checkpoint=str(_untrained(tmp_path / "m", name))).denoise(noisy)
    assert type(learned.estimator()).name == classical
    reference = learned.estimator().denoise(noisy)
    np.testing.assert_allclose(out.values, reference.values, atol=1e-5)
    assert out.dims == noisy.dims and out.shape == noisy.shape


def test_trained_on_one_scene_it_beats_the_classical_method_on_others(trained: tuple[str, Path, object]) -> None:
    name, model, history = trained
    classical, _, noise = MODELS[name]
    rows = history.rows  # type: ignore[attr-defined]
    assert rows[-1]["val_loss"] < 0.9 * rows[0]["val_loss"]
    meta, _ = read_checkpoint(model, family="denoise")
    assert meta["name"] == name and meta["config"] == {"width": 16, "depth": 5}
    for seed in (11, 12):  # scenes the prior never saw, fresh noise
        clean = _scene(seed)
        noisy = xr.DataArray(add_noise(clean, seed=seed, **noise), dims=("y", "x", "band"))
        learned = methods.get("denoise", name)(checkpoint=str(model)).denoise(noisy).values
        plain = methods.get("denoise", classical)().denoise(noisy).values  # at its own defaults
        assert mpsnr(learned, clean) > mpsnr(plain, clean) + 0.3  # subspace_tv: +0.58, +0.87 dB after 200 steps


def test_tiles_of_a_lazy_cube_match_the_whole_cube(trained: tuple[str, Path, object]) -> None:
    name, model, _ = trained
    clean = _scene(13)
    noisy = xr.DataArray(add_noise(clean, seed=1, **MODELS[name][2]), dims=("y", "x", "band"))
    denoiser = methods.get("denoise", name)
    whole = denoiser(checkpoint=str(model)).denoise(noisy).values
    tiled = denoiser(checkpoint=str(model), tile=24, halo=16).denoise(noisy.chunk({"y": 20, "x": 32}))
    assert tiled.chunks is not None
    assert abs(mpsnr(tiled.values, clean) - mpsnr(whole, clean)) < 0.05


def test_bad_configs(trained: tuple[str, Path, object], tmp_path: Path) -> None:
    _, model, _ = trained
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
