"""compute.scheduler: the same ingest on threads, a local process cluster, and a cluster given by address."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest

from spectraflow.compute import dask_scheduler
from spectraflow.errors import ConfigError
from spectraflow.io import StoreLayout, ingest, open_store, write_envi


def _ingest(tmp_path: Path, tag: str) -> np.ndarray:
    cube = np.random.default_rng(7).random((40, 36, 5)).astype("f4")
    header, _ = write_envi(tmp_path / f"{tag}.img", cube)
    store = ingest(header, tmp_path / f"{tag}.zarr", layout=StoreLayout((10, 12, 5), (20, 24, 5)))
    np.testing.assert_array_equal(open_store(store)["cube"].values, cube)
    return cube


@pytest.mark.parametrize("scheduler", ["threads", "synchronous"])
def test_local_schedulers(tmp_path: Path, scheduler: str) -> None:
    with dask_scheduler(scheduler) as client:
        assert client is None and dask.config.get("scheduler") == scheduler
        _ingest(tmp_path, scheduler)


@pytest.mark.slow
def test_process_cluster_and_address(tmp_path: Path) -> None:
    with dask_scheduler("processes", n_workers=2, memory_limit="1GiB") as client:
        assert len(client.scheduler_info()["workers"]) == 2
        _ingest(tmp_path, "processes")
        address = client.scheduler.address
        with dask_scheduler(address) as remote:  # an existing cluster, reached by its address
            assert remote.scheduler.address == address
            _ingest(tmp_path, "address")


def test_bad_scheduler() -> None:
    with pytest.raises(ConfigError, match="compute.scheduler"), dask_scheduler("gpu-magic"):
        pass
