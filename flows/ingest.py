"""Stage ``ingest``: read the configured source file into a sharded zarr store."""

from __future__ import annotations

from prefect import flow
from tasks.ingest import describe_store, ingest_file

from flows._params import section
from spectraflow.config import IngestConfig, from_mapping


@flow(name="ingest")
def ingest(metrics_path: str = "data/metrics/ingest.json") -> str:
    store = ingest_file(from_mapping(IngestConfig, section("ingest"), "ingest"))
    describe_store(store, metrics_path)
    return store


if __name__ == "__main__":
    ingest()
