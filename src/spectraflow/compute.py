"""Where dask computes: the ``compute.scheduler`` setting every dask-using stage honours.

``threads`` (default) runs on dask's local threaded scheduler; ``synchronous`` in the calling thread (for
debugging); ``processes`` on a :class:`distributed.LocalCluster` started for the duration of the stage;
any ``tcp://``/``tls://``/``host:port`` address connects to an existing distributed scheduler. Stages write
stores through the workers, so with a remote cluster the data directory must be on storage the workers share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .errors import ConfigError

__all__ = ["dask_scheduler", "LOCAL_SCHEDULERS"]

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
