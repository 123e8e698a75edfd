"""The deep denoiser: trained by the shared loop on a store's patches, applied tile by tile, any band count."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from spectraflow import methods
from spectraflow.errors import ConfigError, FormatError
from spectraflow.io import open_store, write_store
from spectraflow.methods.denoisers import DenoiserData, train_denoiser
from spectraflow.metrics import mpsnr
from spectraflow.preprocess import PatchConfig, parse_steps, preprocess_store
from spectraflow.synth import add_noise, synthetic_scene
from spectraflow.train import TrainConfig, read_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    tmp = tmp_path_factory.mktemp("deep")
    raw = write_store(synthetic_scene(4, height=64, width=64), tmp / "scene.zarr")
    steps = parse_steps([{"bad_bands": {"header": True}}, {"normalize": {"method": "minmax"}}])
    store = preprocess_store(raw, tmp / "pre.zarr", steps,
                             patches=PatchConfig(size=16, overlap=4, region=32, val_fraction=0.25))
    history = train_denoiser(store, tmp / "model", network={"features": 4, "levels": 1},
                             train=TrainConfig(epochs=6, lr=0.01, threads=2),
                             data=DenoiserData(batch_size=4, steps=10, bands=16),
                             noise={"case": "gaussian", "sigma": 50}, curves=tmp / "curves.csv", progress=False)
    return store, tmp, history


def test_training_learns_and_writes_checkpoint_and_curves(trained: tuple[Path, Path, object]) -> None:
    _, tmp, history = trained
    identity = -10 * np.log10((50 / 255) ** 2)  # MPSNR of the noisy validation patches (σ = 50/255)
    best = history.best  # type: ignore[attr-defined]
    assert best["val_mpsnr"] > identity + 3.0  # dB after 60 steps (seeds 0-3 give +7.3 to +8.3)
    meta, weights = read_checkpoint(tmp / "model", family="denoise")
    assert meta["name"] == "qrnn3d" and meta["config"] == {"features": 4, "levels": 1}
    assert meta["data"]["noise"] == {"case": "gaussian", "sigma": 50} and all(
        isinstance(w, torch.Tensor) for w in weights.values())
    with open(tmp / "curves.csv") as fh:
        assert [int(r["epoch"]) for r in csv.DictReader(fh)] == [0, 1, 2, 3, 4, 5]


def test_contract_tiling_and_band_count(trained: tuple[Path, Path, object]) -> None:
    store, tmp, _ = trained
    clean = open_store(store)["cube"].load()
    noisy = clean.copy(data=add_noise(clean.values, "gaussian", 1, sigma=50))
    whole = methods.get("denoise", "qrnn3d")(checkpoint=str(tmp / "model"), tile=64, device="cpu")
    out = whole.denoise(noisy)
    assert out.dims == noisy.dims and out.shape == noisy.shape
    assert all(np.array_equal(out[c].values, noisy[c].values) for c in noisy.coords)
    volume = torch.from_numpy(noisy.values.transpose(2, 0, 1).copy())[None, None]
    with torch.no_grad():
        reference = whole.network(volume)[0, 0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(out.values, reference, atol=1e-5)  # one tile: the plain forward pass
    assert mpsnr(out.values, clean.values) > mpsnr(noisy.values, clean.values) + 1.0
    # tile by tile from a lazy cube: the halo covers most of the network's reach
    tiled = methods.get("denoise", "qrnn3d")(checkpoint=str(tmp / "model"), tile=24, halo=12).denoise(
        noisy.chunk({"y": 16}))
    assert tiled.chunks is not None
    assert np.abs(tiled.values - out.values).mean() < 0.1 * np.abs(noisy.values - out.values).mean()
    assert abs(mpsnr(tiled.values, clean.values) - mpsnr(out.values, clean.values)) < 0.05
    fewer = noisy.isel(band=slice(0, 37))  # any band count: trained on 16-band windows
    assert methods.get("denoise", "qrnn3d")(checkpoint=str(tmp / "model")).denoise(fewer).shape == fewer.shape


def test_deep_denoiser_bad_configs(trained: tuple[Path, Path, object], tmp_path: Path) -> None:
    store, tmp, _ = trained
    with pytest.raises(ConfigError, match="checkpoint"):
        methods.get("denoise", "qrnn3d")()
    with pytest.raises(ConfigError, match="memory_mb"):
        methods.get("denoise", "qrnn3d")(checkpoint=str(tmp / "model"), memory_mb=0)
    from spectraflow.train import save_checkpoint

    save_checkpoint(tmp_path / "op", {"w": torch.ones(1)}, {"family": "operator", "name": "fno", "config": {}})
    with pytest.raises(FormatError, match="family"):
        methods.get("denoise", "qrnn3d")(checkpoint=str(tmp_path / "op")).network  # noqa: B018
    plain = write_store(open_store(store).drop_vars(["patch_y", "patch_x", "patch_region", "patch_split"]),
                        tmp_path / "nopatches.zarr")
    with pytest.raises(ConfigError, match="preprocess.patches"):
        train_denoiser(plain, tmp_path / "m")
    with pytest.raises(ConfigError, match="bands"):
        DenoiserData(bands=2)
