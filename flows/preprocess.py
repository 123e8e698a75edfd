"""Stage ``preprocess``: the declared chain of spectral operations, from the ingested store to a new one."""

from __future__ import annotations

from prefect import flow

from flows._params import section
from spectraflow.compute import dask_scheduler
from spectraflow.config import ComputeConfig, PreprocessConfig, from_mapping
from tasks.preprocess import describe_preprocessing, preprocess_scene


@flow(name="preprocess")
def preprocess(metrics_path: str = "data/metrics/preprocess.json",
               figure_path: str = "data/plots/preprocess.png") -> str:
    config = from_mapping(PreprocessConfig, section("preprocess"), "preprocess")
    compute = from_mapping(ComputeConfig, section("compute"), "compute")
    with dask_scheduler(compute.scheduler, n_workers=compute.n_workers, memory_limit=compute.memory_limit):
        store = preprocess_scene(config)
    describe_preprocessing(config.input, store, metrics_path, figure_path)
    return store


if __name__ == "__main__":
    preprocess()
