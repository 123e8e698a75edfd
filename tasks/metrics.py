"""How every stage records what it measured: the scores in its DVC metrics file, the timings apart
(:mod:`spectraflow.timings`), and one table artifact in the Prefect UI keyed by the metrics file, so a stage run
on its own and the same stage inside the pipeline publish under the same key (``metrics-denoise-aviris``,
``metrics-train-operator``): each value beside the last committed one, then this run's timings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prefect.artifacts import create_table_artifact

from spectraflow.report.document import flatten, format_value, metric_table
from spectraflow.timings import METRICS_DIR, write_metrics

__all__ = ["record_metrics", "metrics_stage", "artifact_key"]


def metrics_stage(metrics_path: str | os.PathLike[str]) -> str:
    """The stage a metrics file belongs to, as dvc.yaml names it: ``data/metrics/aviris/unmix.json`` →
    ``unmix@aviris``, ``data/metrics/train_operator.json`` → ``train_operator``."""
    path = Path(metrics_path)
    inside = path.relative_to(METRICS_DIR) if path.is_relative_to(METRICS_DIR) else Path(path.name)
    return "@".join([inside.stem, *reversed(inside.parent.parts)])


def artifact_key(title: str) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) from a title."""
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())


def record_metrics(metrics_path: str, values: Mapping[str, Any], baseline: str = "HEAD") -> dict[str, Any]:
    """Write ``values`` (scores to ``metrics_path``, timings apart) and publish them as the table artifact
    ``metrics-<stage>``; returns the timings."""
    timings = write_metrics(metrics_path, values)
    stage = metrics_stage(metrics_path)
    table = metric_table(Path("."), metrics_path, stage, baseline)
    rows = table.records() + [{"metric": key, "this run": format_value(value), table.columns[2]: "",
                               "change": "(a timing: not compared)"} for key, value in flatten(timings).items()]
    create_table_artifact(key=artifact_key(f"metrics {stage}"), table=rows, description=table.title)
    return timings
