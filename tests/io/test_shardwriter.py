"""The direct shard writer against zarr itself: zarr must read back exactly what was written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

from spectraflow.cube import make_scene
from spectraflow.io import StoreLayout, _shardwriter, open_store, write_store


@pytest.mark.parametrize("dtype", ["float32", "int16", "uint8", "float64"])
@pytest.mark.parametrize("shape,layout", [
    ((40, 30, 6), StoreLayout((8, 10, 6), (16, 20, 6))),   # edge shards and partly-filled inner chunks
    ((17, 23, 5), StoreLayout((5, 7, 5), (10, 14, 5))),
    ((16, 20, 6), StoreLayout((8, 10, 6), (16, 20, 6))),   # one exact shard
    ((3, 50, 4), StoreLayout((3, 9, 4), (3, 36, 4))),
])
def test_zarr_reads_back_what_the_shard_writer_wrote(tmp_path: Path, dtype: str, shape: tuple[int, int, int],
                                                      layout: StoreLayout) -> None:
    rng = np.random.default_rng()
    values = (rng.random(shape) * 100).astype(dtype)
    store = write_store(make_scene(values), tmp_path / "s.zarr", layout=layout)
    array = zarr.open_array(store / "cube", mode="r")
    assert _shardwriter.supports(array)  # the fast path was taken
    np.testing.assert_array_equal(array[...], values)
    np.testing.assert_array_equal(array[2:9, 5:17, 1:3], values[2:9, 5:17, 1:3])  # partial reads use the index
    np.testing.assert_array_equal(open_store(store)["cube"].values, values)


def test_compressed_layout_goes_through_zarr(tmp_path: Path) -> None:
    values = np.random.default_rng().random((20, 20, 4)).astype("float32")
    store = write_store(make_scene(values), tmp_path / "s.zarr", compressor="lz4")
    array = zarr.open_array(store / "cube", mode="r")
    assert not _shardwriter.supports(array)
    np.testing.assert_array_equal(array[...], values)
    assert isinstance(open_store(store), xr.Dataset)
