"""Stage ``unmix``: endmembers and abundances of the scene, scored against its ground truth when it has one."""

from __future__ import annotations

from prefect import flow

from flows._params import section
from spectraflow.compute import dask_scheduler
from spectraflow.config import ComputeConfig, UnmixConfig, from_mapping
from tasks.unmix import evaluate_unmixing, unmix_scene_store


@flow(name="unmix")
def unmix(metrics_path: str = "data/metrics/unmix.json", figure_path: str = "data/plots/unmixing.png",
          endmembers_path: str = "data/plots/unmix_endmembers.csv") -> str:
    config = from_mapping(UnmixConfig, section("unmix"), "unmix")
    compute = from_mapping(ComputeConfig, section("compute"), "compute")
    with dask_scheduler(compute.scheduler, n_workers=compute.n_workers, memory_limit=compute.memory_limit):
        store = unmix_scene_store(config)
    evaluate_unmixing(store, metrics_path, figure_path, endmembers_path)
    return store


if __name__ == "__main__":
    unmix()
