"""Tasks driving DVC through its Python API: one stage at a time, metrics, push."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.logging import get_run_logger


def _repo() -> Any:
    from dvc.repo import Repo

    return Repo(".")


def stages_in_order() -> list[str]:
    """dvc.yaml's stages, each after the stages it depends on."""
    import networkx as nx

    with _repo() as repo:
        graph = repo.index.graph  # edges point from a stage to the stages it depends on
        return [stage.addressing for stage in reversed(list(nx.topological_sort(graph)))]


@task(name="dvc-stage", task_run_name="stage {name}")
def repro_stage(name: str) -> bool:
    """Reproduce one stage if DVC sees it changed; return whether it ran."""
    logger = get_run_logger()
    with _repo() as repo:
        ran = repo.reproduce(name, single_item=True)
    logger.info("stage %s: %s", name, "reproduced" if ran else "unchanged, skipped")
    return bool(ran)


def flatten_metrics(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """``Repo.metrics.show()`` → rows of ``{path, metric, value}`` (the table ``dvc metrics show`` prints)."""
    from spectraflow.report.document import flatten

    return [{"path": path, "metric": metric, "value": value}
            for revision in shown.values() for path, entry in revision.get("data", {}).items()
            for metric, value in flatten(entry.get("data", {})).items()]


@task(name="dvc-metrics")
def collect_metrics() -> list[dict[str, Any]]:
    with _repo() as repo:
        return flatten_metrics(repo.metrics.show())


@task(name="dvc-push", retries=2, retry_delay_seconds=5)
def push_if_remote() -> int | None:
    """Push every artifact to the default remote, when one is configured; return the count pushed."""
    with _repo() as repo:
        if not repo.config["core"].get("remote"):
            get_run_logger().info("no default DVC remote configured: nothing pushed")
            return None
        return int(repo.push())
