"""The landing zone: each new raw file is ingested once, registered with DVC, and triggers the pipeline.

One file never blocks another: a file that cannot be read is moved to ``rejected/`` with its message, one
still arriving waits for a later run, one whose read fails with an I/O error is retried by its task and, if it
still fails, is left for the next run. Every store made (now or by an earlier run that stopped early) is
registered. A table artifact ``landing-zone`` lists each file's outcome.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows._params import main, section
from flows.pipeline import pipeline
from spectraflow.config import LandingConfig, from_mapping
from spectraflow.landing import landed_files, unregistered_stores
from tasks.landing import land, register


@flow(name="landing-zone")
def landing_zone(trigger_pipeline: bool = True) -> list[str]:
    config = from_mapping(LandingConfig, section("landing"), "landing")
    directory = Path(config.directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in landed_files(directory):
        state = land(path, config, return_state=True)
        if state.is_completed():
            outcome = state.result()
            rows.append({"file": path.name, "status": outcome.status,
                         "store": str(outcome.store or ""), "message": outcome.message})
        else:  # an I/O error that outlived the retries: the file stays, the next run tries again
            rows.append({"file": path.name, "status": "failed", "store": "", "message": str(state.message)})
    new = unregistered_stores(config.stores)
    if new:
        register(new)
    if rows:
        create_table_artifact(key="landing-zone", table=rows, description=f"Files in {directory}")
    if new and trigger_pipeline:
        pipeline()
    return [str(s) for s in new]


if __name__ == "__main__":
    main(landing_zone)
