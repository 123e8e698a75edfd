"""Stage ``unmix@<scene>``: endmembers and abundances of the scene, scored against its ground truth if any."""

from __future__ import annotations

from prefect import flow

from flows._params import main, scene_config, section
from spectraflow.collection import SceneLayout
from spectraflow.compute import dask_scheduler
from spectraflow.config import ComputeConfig, UnmixConfig, from_mapping
from tasks.unmix import evaluate_unmixing, unmix_scene_store


@flow(name="unmix", flow_run_name="unmix {scene}")
def unmix(scene: str) -> str:
    layout = SceneLayout(scene)
    config = scene_config(UnmixConfig, "unmix", scene)
    compute = from_mapping(ComputeConfig, section("compute"), "compute")
    with dask_scheduler(compute.scheduler, n_workers=compute.n_workers, memory_limit=compute.memory_limit):
        store = unmix_scene_store(config)
    evaluate_unmixing(store, layout.metrics("unmix"), layout.plot("unmixing.png"),
                      layout.plot("unmix_endmembers.csv"))
    return store


if __name__ == "__main__":
    main(unmix)
