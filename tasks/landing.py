"""Tasks of the landing-zone flow: one task run per landed file; the work is :mod:`spectraflow.landing`."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from spectraflow.config import LandingConfig
from spectraflow.landing import Landed, land_file
from tasks.ingest import is_io_error


@task(name="land-file", retries=2, retry_delay_seconds=1, task_run_name="land {path.name}",
      retry_condition_fn=lambda task, run, state: is_io_error(state))
def land(path: Path, config: LandingConfig) -> Landed:
    """Ingest, reject or defer one landed file; only an I/O error fails (and retries) the task."""
    outcome = land_file(path, config.stores, settle_seconds=config.settle_seconds, data_root="data")
    log = get_run_logger()
    (log.warning if outcome.status == "rejected" else log.info)(
        "%s: %s %s", path.name, outcome.status, outcome.store or outcome.message)
    return outcome


@task(name="dvc-add")
def register(stores: list[Path]) -> None:
    """Track stores with DVC (a .dvc pointer each; git ignores the data)."""
    from dvc.repo import Repo

    with Repo(".") as repo:
        repo.add([str(s) for s in stores])
