"""Stage ``ingest``: read the configured source file into a sharded zarr store."""

from __future__ import annotations

from prefect import flow

from flows._params import section
from spectraflow.compute import dask_scheduler
from spectraflow.config import ComputeConfig, IngestConfig, from_mapping
from tasks.ingest import describe_store, ingest_file, scene_figure


@flow(name="ingest")
def ingest(metrics_path: str = "data/metrics/ingest.json", figure_path: str = "data/plots/scene.png") -> str:
    compute = from_mapping(ComputeConfig, section("compute"), "compute")
    with dask_scheduler(compute.scheduler, n_workers=compute.n_workers, memory_limit=compute.memory_limit):
        store = ingest_file(from_mapping(IngestConfig, section("ingest"), "ingest"))
    describe_store(store, metrics_path)
    scene_figure(store, figure_path)
    return store


if __name__ == "__main__":
    ingest()
