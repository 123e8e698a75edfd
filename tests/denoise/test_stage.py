"""The denoising stage's function: a clean store in, noise added, a denoised store and scores out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spectraflow.errors import ConfigError
from spectraflow.io import open_store, write_store
from spectraflow.methods.denoisers import RESULT_PREFIX, denoise_store
from spectraflow.metrics import mpsnr
from spectraflow.preprocess import parse_steps, run_chain
from spectraflow.synth import add_noise, synthetic_scene


def _clean_store(tmp_path: Path) -> Path:
    scene = synthetic_scene(2, height=48, width=48)
    scene = run_chain(scene, parse_steps([{"bad_bands": {"header": True}}, {"normalize": {"method": "minmax"}}]))
    return write_store(scene, tmp_path / "clean.zarr")


def test_denoise_store_adds_the_declared_noise_and_scores(tmp_path: Path) -> None:
    source = _clean_store(tmp_path)
    noise = {"case": "noniid", "seed": 3}
    methods = [{"subspace_tv": {"weight": 0.7}}, "robust_subspace_tv"]
    dest, metrics = denoise_store(source, tmp_path / "out.zarr", methods, noise)
    out, clean = open_store(dest), open_store(source)["cube"].values
    np.testing.assert_array_equal(out["noisy"].values, add_noise(clean, "noniid", 3))  # exactly the protocol
    for name, variable in (("subspace_tv", "cube"), ("robust_subspace_tv", f"{RESULT_PREFIX}robust_subspace_tv")):
        assert metrics[name]["mpsnr"] == pytest.approx(mpsnr(out[variable].values, clean), abs=1e-3)
        assert metrics[name]["mpsnr"] > metrics["noisy"]["mpsnr"] + 15 and metrics[name]["seconds"] > 0
        # each band's PSNR, kept for the stage's per-band table, from its definition
        squared_error = ((out[variable].values.astype(np.float64) - clean) ** 2).mean(axis=(0, 1))
        np.testing.assert_allclose(json.loads(out.attrs["band_psnr"])[name], -10 * np.log10(squared_error),
                                   atol=1e-4)
    assert [m["name"] for m in json.loads(out.attrs["denoising"])] == ["subspace_tv", "robust_subspace_tv"]
    assert json.loads(out.attrs["denoising"])[0]["params"]["weight"] == 0.7
    assert json.loads(out.attrs["noise"]) == noise


def test_denoise_store_without_noise_and_bad_config(tmp_path: Path) -> None:
    source = _clean_store(tmp_path)
    dest, metrics = denoise_store(source, tmp_path / "out.zarr", "subspace_tv")
    assert "noisy" not in open_store(dest) and set(metrics) == {"subspace_tv"}
    assert set(metrics["subspace_tv"]) == {"seconds"}
    with pytest.raises(ConfigError, match=r"denoise.methods\[1\].*unknown denoise method 'bm9d'"):
        denoise_store(source, tmp_path / "x.zarr", ["subspace_tv", "bm9d"])
    with pytest.raises(ConfigError, match="weight"):
        denoise_store(source, tmp_path / "x.zarr", {"subspace_tv": {"weight": -1}})
    with pytest.raises(ConfigError, match="each method once"):
        denoise_store(source, tmp_path / "x.zarr", ["subspace_tv", {"subspace_tv": {"weight": 1.0}}])
    with pytest.raises(ConfigError, match="empty"):
        denoise_store(source, tmp_path / "x.zarr", [])
    assert not (tmp_path / "x.zarr").exists()
