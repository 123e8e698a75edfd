"""Working on cubes larger than memory: tiles with a halo, the tile side from a budget, representative pixels."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from spectraflow.blocks import (
    extreme_pixels,
    map_fine_tiles,
    map_tiles,
    representative_pixels,
    sample_rows,
    tile_chunks,
    tile_for_budget,
)
from spectraflow.errors import ConfigError


def _box(radius: int):  # a spatial step of reach `radius`, edges by replication
    return lambda window: uniform_filter(window, size=(2 * radius + 1, 2 * radius + 1, 1), mode="nearest")


@pytest.mark.parametrize(("shape", "tile", "halo", "chunks"), [((70, 53, 5), 24, 4, 16), ((33, 90, 3), 32, 3, 10),
                                                               ((20, 20, 4), 64, 8, 7)])
def test_a_step_within_the_halo_gives_the_whole_image_result(shape: tuple[int, int, int], tile: int, halo: int,
                                                            chunks: int) -> None:
    cube = np.random.default_rng(sum(shape)).random(shape).astype(np.float32)
    lazy = map_tiles(_box(halo), da.from_array(cube, chunks=(chunks, chunks, -1)), tile=tile, halo=halo)
    assert isinstance(lazy, da.Array) and lazy.shape == cube.shape
    assert max(lazy.chunks[0]) <= tile and max(lazy.chunks[1]) <= tile
    np.testing.assert_allclose(lazy.compute(), _box(halo)(cube), rtol=1e-6, atol=1e-6)
    # a halo narrower than the step's reach leaves seams between tiles
    if tile < max(shape[:2]):
        cut = map_tiles(_box(halo), cube, tile=tile, halo=halo // 2).compute()
        assert np.abs(cut - _box(halo)(cube)).max() > 1e-3


def test_fine_tiles_pair_each_coarse_window_with_its_fine_window() -> None:
    rng = np.random.default_rng(5)
    coarse, fine = rng.random((23, 31, 3)), rng.random((69, 93))

    def step(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # a step of reach 2 coarse pixels on both grids
        spread = uniform_filter(a, size=(5, 5, 1), mode="nearest")
        return np.repeat(np.repeat(spread, 3, axis=0), 3, axis=1) + uniform_filter(b, size=7, mode="nearest")[..., None]

    lazy = map_fine_tiles(step, da.from_array(coarse, chunks=(8, 10, -1)), fine, 3, tile=6, halo=2)
    assert lazy.shape == (69, 93, 3) and max(lazy.chunks[0]) <= 18
    np.testing.assert_allclose(lazy.compute(), step(coarse, fine), rtol=1e-5, atol=1e-5)
    assert np.abs(map_fine_tiles(step, coarse, fine, 3, tile=6, halo=0).compute() - step(coarse, fine)).max() > 1e-3
    with pytest.raises(ConfigError, match="not 3 x"):
        map_fine_tiles(step, coarse, fine[:-1], 3, tile=6, halo=2)


def test_tile_side_follows_the_budget() -> None:
    assert tile_for_budget(2**30, 224, 448.0) == int(np.sqrt(2**30 / (224 * 448)))
    assert tile_for_budget(2**30, 224, 448.0, halo=10) == int(np.sqrt(2**30 / (224 * 448))) - 20
    with pytest.raises(ConfigError, match="raise memory_mb"):
        tile_for_budget(2**20, 224, 448.0)
    with pytest.raises(ValueError, match="returned"):
        map_tiles(lambda w: w[:1], np.zeros((8, 8, 1), np.float32), tile=4, halo=1).compute()


def test_extremes_and_rows_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    cube = rng.random((41, 37, 6))
    cube[5, 7] = np.nan  # a nodata pixel is never an extreme
    directions = rng.standard_normal((6, 9))
    indices, spectra = extreme_pixels(da.from_array(cube, chunks=(10, 12, -1)), directions)
    flat = cube.reshape(-1, 6)
    projection = np.where(np.isfinite(flat).all(axis=1)[:, None], flat @ directions, np.nan)
    expected = np.unique(np.concatenate([np.nanargmin(projection, 0), np.nanargmax(projection, 0)]))
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(spectra, flat[expected])
    rows, values = sample_rows(da.from_array(cube, chunks=(10, 12, -1)), 37 * 5)
    assert len(rows) == 5 and rows[0] == 0 and rows[-1] == 40
    np.testing.assert_array_equal(values, cube[rows])


def test_representative_pixels() -> None:
    rng = np.random.default_rng(4)
    cube = rng.random((30, 20, 5))
    cube[2, 3] = np.nan
    small_indices, small = representative_pixels(cube, 10_000)  # every valid pixel
    assert len(small_indices) == 30 * 20 - 1 and 2 * 20 + 3 not in small_indices
    indices, spectra = representative_pixels(da.from_array(cube, chunks=(8, 20, -1)), 100, directions=12)
    assert 100 <= len(indices) <= 100 + 20 + 24 and np.all(np.diff(indices) > 0)
    np.testing.assert_array_equal(spectra, cube.reshape(-1, 5)[indices])
    # the pixels at both ends of the first principal axis are among them
    flat = cube.reshape(-1, 5)
    finite = np.isfinite(flat).all(axis=1)
    axis = np.linalg.eigh(np.cov(flat[finite].T))[1][:, -1]
    projection = np.where(finite, np.nan_to_num(flat) @ axis, np.nan)
    assert {int(np.nanargmin(projection)), int(np.nanargmax(projection))} <= set(indices.tolist())


@pytest.mark.parametrize(("length", "tile", "halo", "grain"), [(2176, 207, 16, 34), (544, 207, 16, 34),
                                                               (100, 30, 8, 1), (20, 64, 8, 7), (97, 40, 16, 10)])
def test_tiles_are_whole_input_blocks_within_the_budget(length: int, tile: int, halo: int, grain: int) -> None:
    sides = tile_chunks(length, tile, halo, grain=grain)
    assert sum(sides) == length
    assert all(s % grain == 0 for s in sides[:-1])  # rows of tiles end where the input's blocks end
    assert max(sides[:-1], default=0) <= max(tile, grain)
    assert len(sides) == 1 or sides[-1] >= halo  # no sliver narrower than the halo
    assert len(sides) > 1 or length <= max(tile, grain) or sides == (length,)
    assert tile_chunks(100, 207, 16, grain=34) == (100,)  # a cube within one tile stays one tile


def test_rows_of_tiles_follow_a_store_s_strips() -> None:
    cube = da.zeros((100, 40, 3), chunks=(10, 40, 3), dtype=np.float32)
    rows = map_tiles(lambda w: w, cube, tile=25, halo=4).chunks[0]
    assert rows == (20, 20, 20, 20, 20)
