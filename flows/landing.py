"""The landing zone: new raw files are ingested once each, registered with DVC, and trigger the pipeline."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows._params import section
from flows.pipeline import pipeline
from spectraflow.config import LandingConfig, from_mapping
from tasks.landing import ingest_landed, register, scene_files


@flow(name="landing-zone")
def landing_zone(trigger_pipeline: bool = True) -> list[str]:
    config = from_mapping(LandingConfig, section("landing"), "landing")
    directory, stores = Path(config.directory), Path(config.stores)
    directory.mkdir(parents=True, exist_ok=True)
    new = [s for s in (ingest_landed(p, stores) for p in scene_files(directory)) if s is not None]
    if new:
        register(new)
        if trigger_pipeline:
            pipeline()
    return [str(s) for s in new]


if __name__ == "__main__":
    landing_zone()
