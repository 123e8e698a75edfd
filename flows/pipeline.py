"""The end-to-end pipeline users schedule: ``dvc repro`` one stage at a time, each a Prefect task.

Each stage's state, duration and logs show in the Prefect UI; a failed stage fails the flow with its error,
and a rerun resumes from the first stage DVC sees as changed. The run publishes the metrics
(``dvc metrics show``) as a table artifact and a markdown report artifact, and pushes to the default DVC
remote when one is configured.
"""

from __future__ import annotations

import time

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from tasks.dvc import collect_metrics, push_if_remote, repro_stage, stages_in_order


@flow(name="pipeline")
def pipeline(push: bool = True) -> dict[str, bool]:
    ran: dict[str, bool] = {}
    seconds: dict[str, float] = {}
    for name in stages_in_order():
        start = time.perf_counter()
        ran[name] = repro_stage(name)
        seconds[name] = time.perf_counter() - start
    metrics = collect_metrics()
    create_table_artifact(key="pipeline-metrics", table=metrics, description="dvc metrics show")
    lines = ["# spectraflow pipeline run", "", "| stage | ran | seconds |", "|---|---|---|"]
    lines += [f"| {n} | {'yes' if ran[n] else 'unchanged'} | {seconds[n]:.1f} |" for n in ran]
    lines += ["", "## Metrics", "", "| file | metric | value |", "|---|---|---|"]
    lines += [f"| {m['path']} | {m['metric']} | {m['value']} |" for m in metrics]
    pushed = push_if_remote() if push else None
    lines += ["", f"DVC push: {pushed if pushed is not None else 'no remote configured'}"]
    create_markdown_artifact(key="pipeline-report", markdown="\n".join(lines), description="pipeline run report")
    return ran


if __name__ == "__main__":
    pipeline()
