"""compute.scheduler: the same ingest on threads, a local process cluster, and a cluster given by address;
compute.threads: the threads a stage computes with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dask
import numpy as np
import pytest

from spectraflow.compute import dask_scheduler
from spectraflow.config import ComputeConfig
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


def test_stage_threads_share_the_cores_among_concurrent_stages() -> None:
    from spectraflow.compute import available_cores, stage_threads

    cores = available_cores()
    assert stage_threads(None, 1) == cores and stage_threads(None, 2) == max(1, cores // 2)
    assert stage_threads(None, 10 * cores) == 1 and stage_threads(3, 2) == 3  # pinned: whatever the machine
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match=r"compute\.threads"):
            ComputeConfig(threads=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("found_before_fork", [False, True], ids=["fresh", "pools-found-before-fork"])
def test_limit_threads_reaches_torch_blas_and_dask(found_before_fork: bool) -> None:
    """In a fresh process that loaded numpy's BLAS and torch first: every thread pool reports the limit. Also as
    a warm server's stage: the pools found once (find_thread_pools) before the process forks, limited in the fork."""
    code = f"""
import json, os, numpy, torch, dask
from threadpoolctl import threadpool_info
from spectraflow.compute import find_thread_pools, limit_threads
before = [p["num_threads"] for p in threadpool_info()]
if {found_before_fork}:
    find_thread_pools()
    if os.fork():
        raise SystemExit(os.waitstatus_to_exitcode(os.wait()[1]))
limit_threads(1)
numpy.ones((64, 64)) @ numpy.ones((64, 64))
print(json.dumps({{"before": before, "pools": [p["num_threads"] for p in threadpool_info()],
                  "torch": torch.get_num_threads(), "dask": dask.config.get("num_workers")}}), flush=True)
"""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                    check=True).stdout.splitlines()[-1])
    assert out["pools"] and set(out["pools"]) == {1} and out["torch"] == 1 and out["dask"] == 1
    if os.cpu_count() and os.cpu_count() > 1:  # the limit changed something: the pools started wider
        assert max(out["before"]) > 1


def test_freed_arrays_go_back_to_the_system() -> None:
    """Arrays of a few MB freed among ones still in use stay in glibc's heap (and in the resident memory) until
    release_freed_memory hands their pages back. Run in a fresh process: the test runner's own heap differs."""
    script = """
import numpy as np, psutil
from spectraflow.compute import _malloc_trim, release_freed_memory
if _malloc_trim() is None:
    print("no-trim"); raise SystemExit
big = np.ones(16 << 20, np.uint8)
del big  # freeing it raises glibc's mmap threshold to its size: smaller arrays now come from the heap
arrays = [np.ones(2 << 20, np.uint8) for _ in range(200)]  # 400 MiB, touched
kept = arrays[::10]  # every tenth stays in use, so the freed ones are not at the heap's top
del arrays
rss = psutil.Process().memory_info().rss
release_freed_memory()
print((rss - psutil.Process().memory_info().rss) >> 20)
"""
    # glibc's defaults: a MALLOC_* tuning variable (distributed's LocalCluster sets MALLOC_TRIM_THRESHOLD_ in this
    # process for its workers) fixes the mmap threshold, and these arrays would never stay in the heap
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env=env).stdout.strip()
    if out == "no-trim":
        pytest.skip("the C library has no malloc_trim (not glibc): release_freed_memory does nothing here")
    assert int(out) > 200  # MiB handed back of the 360 freed
