"""Where dask computes: the ``compute.scheduler`` setting every dask-using stage honours.

``threads`` (default) runs on dask's local threaded scheduler; ``synchronous`` in the calling thread (for
debugging); ``processes`` on a :class:`distributed.LocalCluster` started for the duration of the stage;
any ``tcp://``/``tls://``/``host:port`` address connects to an existing distributed scheduler. Stages write
stores through the workers, so with a remote cluster the data directory must be on storage the workers share.

Threads: each stage process computes with :func:`stage_threads` threads (torch, the BLAS libraries, dask's
threaded scheduler): ``compute.threads`` when set, else the machine's cores shared among the
``collection.parallel`` stages the pipeline flow runs at once. Without that share, two stages on two cores each
ran two torch/BLAS threads and were slower together than one after the other. A bare ``dvc repro`` applies
the same rule, so it and the pipeline flow write the same bytes; float reductions summed by a different number
of threads differ in their last bits, so pin ``compute.threads`` to get the same bytes on another machine.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from typing import Any

from .errors import ConfigError

__all__ = ["dask_scheduler", "limit_threads", "find_thread_pools", "stage_threads", "release_freed_memory",
           "LOCAL_SCHEDULERS"]

LOCAL_SCHEDULERS = ("threads", "synchronous", "processes")


@contextlib.contextmanager
def dask_scheduler(scheduler: str = "threads", *, n_workers: int | None = None,
                   memory_limit: str | None = None) -> Iterator[Any]:
    """Run dask computations inside the block on ``scheduler``; yields the distributed client or None."""
    import dask

    if scheduler in ("threads", "synchronous"):
        with dask.config.set(scheduler=scheduler):
            yield None
        return
    from distributed import Client, LocalCluster

    if scheduler == "processes":
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
        return
    if "://" in scheduler or (":" in scheduler and scheduler.rsplit(":", 1)[1].isdigit()):
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    raise ConfigError(f"compute.scheduler={scheduler!r}: expected one of {LOCAL_SCHEDULERS} "
                      "or the address of a distributed scheduler (tcp://host:8786)")


def release_freed_memory() -> None:
    """Hand the memory this process has freed back to the system (glibc's ``malloc_trim``; nothing where the C
    library has none). Freed NumPy arrays below glibc's mmap threshold, which rises with every large array freed
    (to 32 MiB), stay in the allocator's arenas and in the process's resident memory: in the denoise stage on a
    1 GB cube, 0.7 GB after each method's write. The store writer calls it after each pass, the scores after
    their strips."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows)
        return None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def stage_threads(threads: int | None, parallel: int) -> int:
    """The threads one stage process computes with: ``threads`` (``compute.threads``) when set, else the cores
    shared among ``parallel`` (``collection.parallel``) concurrent stages, at least one."""
    return threads if threads is not None else max(1, available_cores() // parallel)


#: the native thread pools found once by :func:`find_thread_pools`, for the processes forked after it
_THREAD_POOLS: Any = None


def find_thread_pools() -> None:
    """Find the native thread pools loaded now (threadpoolctl inspects every loaded library: 25-30 ms), once for
    this process and the processes it forks: a warm stage server calls this after its imports, so that its
    stages' :func:`limit_threads` need not look again."""
    global _THREAD_POOLS
    from threadpoolctl import ThreadpoolController

    _THREAD_POOLS = ThreadpoolController()


def limit_threads(threads: int) -> None:
    """Make torch, the BLAS/OpenMP libraries and dask's threaded scheduler compute with ``threads`` threads in
    this process (and, through the environment, in the processes it starts)."""
    import dask
    from threadpoolctl import ThreadpoolController

    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    # the libraries already loaded (numpy's OpenBLAS, torch's OpenMP): those found before, else those loaded now
    (_THREAD_POOLS or ThreadpoolController()).limit(limits=threads)
    dask.config.set(num_workers=threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
