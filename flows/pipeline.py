"""The end-to-end pipeline users schedule: ``dvc repro`` one stage at a time, each a Prefect task.

Each stage's state, duration and logs show in the Prefect UI; a failed stage fails the flow with its error,
and a rerun resumes from the first stage DVC sees as changed. The run publishes keyed artifacts (each keeps
its history on the Artifacts page): the stages it ran, the metrics (``dvc metrics show``), one table per
task's metrics beside the previous run's, the report in markdown and a link to its HTML page; then it pushes
to the default DVC remote when one is configured.
"""

from __future__ import annotations

import time

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows._params import section
from spectraflow.config import ReportConfig, from_mapping
from tasks.dvc import collect_metrics, push_if_remote, repro_stage, stages_in_order
from tasks.report import publish_report


@flow(name="pipeline")
def pipeline(push: bool = True) -> dict[str, bool]:
    ran: dict[str, bool] = {}
    seconds: dict[str, float] = {}
    for name in stages_in_order():
        start = time.perf_counter()
        ran[name] = repro_stage(name)
        seconds[name] = time.perf_counter() - start
    create_table_artifact(key="pipeline-stages", description="stages of this run",
                          table=[{"stage": n, "ran": "yes" if ran[n] else "unchanged", "seconds": round(seconds[n], 1)}
                                 for n in ran])
    create_table_artifact(key="pipeline-metrics", table=collect_metrics(), description="dvc metrics show")
    report = from_mapping(ReportConfig, section("report"), "report")
    publish_report(report.out, report.baseline)
    if push:
        push_if_remote()
    return ran


if __name__ == "__main__":
    pipeline()
