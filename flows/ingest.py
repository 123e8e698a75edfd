"""Stage ``ingest@<scene>``: read one scene's source file into a sharded zarr store."""

from __future__ import annotations

from prefect import flow

from flows._params import main, scene_config, section
from spectraflow.collection import SceneLayout
from spectraflow.compute import dask_scheduler
from spectraflow.config import ComputeConfig, IngestConfig, from_mapping
from tasks.ingest import describe_store, ingest_file, scene_figure


@flow(name="ingest", flow_run_name="ingest {scene}")
def ingest(scene: str) -> str:
    layout = SceneLayout(scene)
    compute = from_mapping(ComputeConfig, section("compute"), "compute")
    with dask_scheduler(compute.scheduler, n_workers=compute.n_workers, memory_limit=compute.memory_limit):
        store = ingest_file(scene_config(IngestConfig, "ingest", scene))
    describe_store(store, layout.metrics("ingest"))
    scene_figure(store, layout.plot("scene.png"))
    return store


if __name__ == "__main__":
    main(ingest)
