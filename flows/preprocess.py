"""Stage ``preprocess@<scene>``: the declared chain of spectral operations, from the ingested store to a new one."""

from __future__ import annotations

from prefect import flow

from flows._params import main, scene_config, section
from spectraflow.collection import SceneLayout
from spectraflow.compute import dask_scheduler
from spectraflow.config import ComputeConfig, PreprocessConfig, from_mapping
from tasks.preprocess import describe_preprocessing, preprocess_scene


@flow(name="preprocess", flow_run_name="preprocess {scene}")
def preprocess(scene: str) -> str:
    layout = SceneLayout(scene)
    config = scene_config(PreprocessConfig, "preprocess", scene)
    compute = from_mapping(ComputeConfig, section("compute"), "compute")
    with dask_scheduler(compute.scheduler, n_workers=compute.n_workers, memory_limit=compute.memory_limit):
        store = preprocess_scene(config)
    describe_preprocessing(config.input, store, layout.metrics("preprocess"), layout.plot("preprocess.png"))
    return store


if __name__ == "__main__":
    main(preprocess)
