"""The end-to-end pipeline users schedule: every stage of ``dvc.yaml``, the scenes of the collection in
parallel, each stage of each scene a task run named ``<stage> <scene>`` (see :mod:`tasks.dvc` for how DVC's
records stay consistent while scenes run side by side).

A stage runs once the stages it depends on are done, at most ``collection.parallel`` at once; its command's
flow run appears in the UI as a child of its task run, on this run's Prefect server (no server per stage). One
bad scene fails its own stages only: the stages downstream of a failure are ``blocked``, every other stage
finishes, the report is written on what succeeded, and the flow ends Failed naming each failed stage and why;
the next run retries only what failed. The run publishes keyed artifacts (each keeps its history on the
Artifacts page): ``pipeline-stages`` (each stage's scene, status, seconds — DVC's check, the command, DVC's
record — and error), the metrics (``dvc metrics show``), one table per metrics file beside the previous run's,
the report in markdown and a link to its HTML page; then it pushes to the default DVC remote when one is
configured and nothing failed.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, wait

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.futures import PrefectConcurrentFuture

from flows._params import main, section
from spectraflow.collection import parallel_bound
from spectraflow.config import ReportConfig, from_mapping
from tasks import dvc
from tasks.dvc import SUMMARY_STAGES, StageOutcome, error_line, run_stage
from tasks.report import publish_report


class PipelineFailed(RuntimeError):
    """Some stages failed; the others finished and were recorded."""


def _label(stage: str) -> str:
    """``denoise@aviris`` → ``denoise aviris`` (the task run's name in the UI)."""
    return stage.replace("@", " ")


def run_stages(graph: dict[str, list[str]], parallel: int) -> dict[str, StageOutcome]:
    """Run ``graph``'s stages (each mapped to its upstream stages, in an order that lists upstream first), at
    most ``parallel`` at once; return each one's outcome in that order. Every stage that ran is in dvc.lock when
    it returns or raises."""
    outcomes: dict[str, StageOutcome] = {}
    running: dict[str, PrefectConcurrentFuture[StageOutcome]] = {}
    waiting = list(graph)
    with dvc.recording():
        while waiting or running:
            for name in list(waiting):
                upstream = graph[name]
                if len(running) >= parallel or not all(u in outcomes for u in upstream):
                    continue
                waiting.remove(name)
                failed = [u for u in upstream if outcomes[u].status in ("failed", "blocked")]
                if failed and name not in SUMMARY_STAGES:
                    outcomes[name] = StageOutcome(name, "blocked", error=f"upstream stage {failed[0]} did not finish")
                    continue
                running[name] = run_stage.with_options(task_run_name=_label(name)).submit(name)
            if not running:
                continue
            wait([future.wrapped_future for future in running.values()], return_when=FIRST_COMPLETED)
            for name in [name for name, future in running.items() if future.wrapped_future.done()]:
                try:
                    outcomes[name] = running.pop(name).result()
                except BaseException as exc:  # the stage's own error, reported in the table and the flow's state
                    outcomes[name] = StageOutcome(name, "failed", error=error_line(exc))
    return {name: outcomes[name] for name in graph}


@flow(name="pipeline")
def pipeline(push: bool = True) -> dict[str, str]:
    start = time.perf_counter()
    outcomes = run_stages(dvc.stage_graph(), parallel_bound(section("collection")))
    create_table_artifact(
        key="pipeline-stages", description=f"stages of this run ({time.perf_counter() - start:.0f} s)",
        table=[{"stage": o.stage.partition("@")[0], "scene": o.scene or "—", "status": o.status,
                "seconds": round(o.seconds, 1), "dvc check s": round(o.check_seconds, 1),
                "command s": round(o.command_seconds, 1), "dvc record s": round(o.record_seconds, 1),
                "error": o.error} for o in outcomes.values()])
    create_table_artifact(key="pipeline-metrics", table=dvc.collect_metrics(), description="dvc metrics show")
    report = from_mapping(ReportConfig, section("report"), "report")
    publish_report(report.out, report.baseline)
    failed = [o for o in outcomes.values() if o.status == "failed"]
    if failed:
        raise PipelineFailed(f"{len(failed)} stage(s) failed, the other stages finished: "
                             + "; ".join(f"{o.stage}: {o.error}" for o in failed))
    if push:
        dvc.push_if_remote()
    return {name: o.status for name, o in outcomes.items()}


if __name__ == "__main__":
    main(pipeline)
