"""The sparse-corruption repair (``sparse: true``): what it finds against the corruption planted, what it leaves
alone (Gaussian noise, integer data), its lazy path, and the denoising it enables on mixed noise."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from spectraflow import methods
from spectraflow.errors import ConfigError
from spectraflow.methods.denoisers import _sparse as sparse
from spectraflow.methods.denoisers._sparse import find_sparse_corruption
from spectraflow.metrics import mpsnr, sam
from spectraflow.synth import add_noise

from . import scaled_scene


@pytest.mark.parametrize("seed", [3, 4])
def test_the_repair_finds_the_planted_corruption(seed: int) -> None:
    clean = scaled_scene(seed)
    noisy = add_noise(clean, "mixture", seed)
    gaussian = add_noise(clean, "noniid", seed)  # the same Gaussian draw: what the mixture adds beyond it is known
    planted = np.abs(noisy - gaussian) > 1e-6
    corruption = find_sparse_corruption(noisy)
    repaired = corruption.repair(noisy)
    changed = np.abs(repaired - noisy) > 1e-6
    # impulses (exactly 0 or 1) and dead lines (0) are replaced wherever they were planted
    stuck = planted & ((noisy == 0) | (noisy == 1))
    assert changed[stuck].mean() > 0.99
    # stripes: of each column striped by more than 7 standard errors of a column's median, little is left
    offsets = np.median(noisy - gaussian, axis=0)  # (x, band): what was planted down each column
    error = 1.2533 * (gaussian - clean).std(axis=(0, 1)) / np.sqrt(clean.shape[0])  # (band,)
    striped = (np.abs(offsets) > 7 * error) & ~(noisy == 0).all(axis=0)
    left = np.median(repaired - gaussian, axis=0)[striped]
    assert striped.sum() > 20
    assert np.mean(np.abs(left) < 0.5 * np.abs(offsets[striped])) > 0.9  # measured 0.96-0.98
    assert np.abs(left).sum() < 0.2 * np.abs(offsets[striped]).sum()  # measured 0.07-0.10
    assert (corruption.offset[offsets == 0] != 0).mean() < 0.01  # few stripes where there are none
    # and little else moves: outside the planted entries under 3 % of the entries change
    assert changed[~planted].mean() < 0.03
    # on the planted entries the repaired cube is far closer to the clean one (measured 0.10-0.11 of the error)
    assert np.abs(repaired - clean)[planted].mean() < 0.2 * np.abs(noisy - clean)[planted].mean()


def test_gaussian_noise_and_integer_data_pass_through() -> None:
    clean = scaled_scene(5)
    gaussian = add_noise(clean, "noniid", 5)
    assert (np.abs(find_sparse_corruption(gaussian).repair(gaussian) - gaussian) > 1e-6).mean() < 0.01
    # integer counts repeat every value; only a planted dead line and saturated pixels are stuck
    counts = np.round(gaussian * 2000 + 500).astype(np.int16)
    counts[:, 17, 4] = 0
    saturated = np.zeros(counts.shape[:2], bool)
    saturated[::7, ::5] = True
    counts[saturated, 9] = 4095
    corruption = find_sparse_corruption(counts)
    stuck = {b: set(v.tolist()) for b, v in enumerate(corruption.stuck) if v.size}
    assert stuck == {4: {0.0}, 9: {4095.0}}
    assert corruption.dead[17, 4] and corruption.dead.sum() == 1


def test_the_lazy_repair_equals_the_in_memory_one(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = scaled_scene(6)
    noisy = add_noise(clean, "mixture", 6).astype(np.float32)
    corruption = find_sparse_corruption(noisy)
    lazy = corruption.repair(da.from_array(noisy, chunks=(24, 20, -1)))  # blocks that cut the columns
    np.testing.assert_allclose(lazy.compute(), corruption.repair(noisy), atol=1e-4)  # IRLS in float32, by block
    whole = corruption._repair_window(noisy, 0)  # in memory it goes by strips of rows: the same as at once
    monkeypatch.setattr(sparse, "STRIP_VOXELS", 5 * noisy.shape[1] * noisy.shape[2])
    np.testing.assert_allclose(corruption.repair(noisy), whole, atol=1e-4)
    # whole denoisers, in memory and on a chunked cube
    method = methods.get("denoise", "subspace_tv")(sparse=True)
    eager = method.denoise(xr.DataArray(noisy, dims=("y", "x", "band"))).values
    chunked = method.denoise(xr.DataArray(da.from_array(noisy, chunks=(32, 24, -1)), dims=("y", "x", "band")))
    np.testing.assert_allclose(np.asarray(chunked.values), eager, atol=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_repaired_subspace_tv_beats_robust_subspace_tv_on_mixed_noise(seed: int) -> None:
    clean = scaled_scene(7)
    noisy = xr.DataArray(add_noise(clean, "mixture", seed), dims=("y", "x", "band"))
    repaired = methods.get("denoise", "subspace_tv")(sparse=True).denoise(noisy).values
    robust = methods.get("denoise", "robust_subspace_tv")().denoise(noisy).values
    assert mpsnr(repaired, clean) > mpsnr(robust, clean) + 2  # dB
    assert sam(repaired, clean) < sam(robust, clean)
    with pytest.raises(ConfigError, match="sparse"):
        methods.get("denoise", "subspace_tv")(sparse="yes")
