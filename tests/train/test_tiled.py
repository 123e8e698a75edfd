"""Tiled inference: exact where the overlap covers the receptive field, any tiling, lazy inputs, memory budget."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from spectraflow.errors import ConfigError
from spectraflow.train import tile_for_budget, tiled_apply


def _box(radius: int):  # a spatial model of receptive radius `radius`, edges handled by replication
    return lambda window: uniform_filter(window, size=(2 * radius + 1, 2 * radius + 1, 1), mode="nearest")


@pytest.mark.parametrize(("shape", "tile", "overlap"), [((70, 53, 5), 24, 16), ((33, 90, 3), 32, 12),
                                                        ((20, 20, 4), 64, 8)])
def test_tiles_reproduce_whole_image_inference(shape: tuple[int, int, int], tile: int, overlap: int) -> None:
    cube = np.random.default_rng(sum(shape)).random(shape).astype(np.float32)
    radius = overlap // 4
    seen: list[int] = []
    out = tiled_apply(_box(radius), da.from_array(cube, chunks=(16, 16, -1)), tile, overlap,
                      progress=lambda done, total: seen.append(total))
    np.testing.assert_allclose(out, _box(radius)(cube), rtol=1e-5, atol=1e-6)
    assert len(seen) == seen[0] >= (1 if tile >= max(shape[:2]) else 2)


def test_narrow_overlap_blends_rather_than_cuts() -> None:
    cube = np.random.default_rng(0).random((64, 64, 2)).astype(np.float32)
    blended = tiled_apply(_box(6), cube, 24, 8)
    error = np.abs(blended - _box(6)(cube))
    assert error.max() < 0.2 and error.mean() < 0.01  # seams blended, not exact


def test_tile_side_follows_the_budget() -> None:
    assert tile_for_budget(2**30, 224, 448.0) == int(np.sqrt(2**30 / (224 * 448)))
    with pytest.raises(ConfigError, match="raise the memory limit"):
        tile_for_budget(2**20, 224, 448.0)
    with pytest.raises(ConfigError, match="overlap"):
        tiled_apply(_box(1), np.zeros((8, 8, 1)), 8, 8)
