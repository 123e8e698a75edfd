"""Stage ``anomaly@<scene>``: every configured detector scores the scene; scored against its anomaly map if any."""

from __future__ import annotations

from prefect import flow

from flows._params import main, scene_config, section
from spectraflow.collection import SceneLayout
from spectraflow.compute import dask_scheduler
from spectraflow.config import AnomalyConfig, ComputeConfig, from_mapping
from tasks.anomaly import detect_anomalies, evaluate_anomalies


@flow(name="anomaly", flow_run_name="anomaly {scene}")
def anomaly(scene: str) -> str:
    layout = SceneLayout(scene)
    config = scene_config(AnomalyConfig, "anomaly", scene)
    compute = from_mapping(ComputeConfig, section("compute"), "compute")
    with dask_scheduler(compute.scheduler, n_workers=compute.n_workers, memory_limit=compute.memory_limit):
        store, seconds = detect_anomalies(config)
    evaluate_anomalies(store, seconds, layout.metrics("anomaly"), layout.plot("anomaly.png"))
    return store


if __name__ == "__main__":
    main(anomaly)
