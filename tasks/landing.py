"""Tasks of the landing-zone flow: one task run per landed file; the work is :mod:`spectraflow.landing`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from prefect import task
from prefect.logging import get_run_logger

from spectraflow.collection import add_scenes
from spectraflow.config import LandingConfig
from spectraflow.landing import Landed, land_file
from tasks.ingest import is_io_error


@task(name="land-file", retries=2, retry_delay_seconds=1, task_run_name="land {path.name}",
      retry_condition_fn=lambda task, run, state: is_io_error(state))
def land(path: Path, config: LandingConfig, taken: Collection[str]) -> Landed:
    """Accept, reject or defer one landed file; only an I/O error fails (and retries) the task."""
    outcome = land_file(path, config.acquisitions, taken=taken, settle_seconds=config.settle_seconds)
    log = get_run_logger()
    (log.warning if outcome.status == "rejected" else log.info)(
        "%s: %s %s", path.name, outcome.status, outcome.scene or outcome.message)
    return outcome


@task(name="add-to-collection")
def add_to_collection(scenes: Mapping[str, Mapping[str, Any]], untracked: Collection[Path],
                      params: Path = Path("params.yaml")) -> None:
    """Declare the new scenes in ``params.yaml`` (``collection.scenes``), so the pipeline runs their stages, then
    track every acquisition directory not yet tracked with DVC (a ``.dvc`` pointer; git ignores the files).
    In this order, a run that stops between the two leaves a declared scene for the next run to track; a scene
    the user later removes from the collection is tracked already, and is not declared again."""
    from dvc.repo import Repo

    if scenes:
        add_scenes(params, scenes)
        get_run_logger().info("added to the collection: %s", ", ".join(scenes))
    if untracked:
        with Repo(".") as repo:
            repo.add([str(path) for path in untracked])
