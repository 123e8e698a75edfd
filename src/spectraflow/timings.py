"""A stage's scores and its timings, kept apart.

A stage's metrics file is a result: DVC tracks it, ``dvc metrics diff`` and ``dvc exp show`` compare it, and a
rerun of the same inputs must write it byte for byte. How long the run took is not a result (it moves with
the machine and its load), so every key named ``seconds`` or ``*_seconds`` goes to a twin file under
``data/timings/`` instead (``data/metrics/aviris/denoise.json`` → ``data/timings/aviris/denoise.json``), which
git ignores and no stage declares: each run overwrites it, ``dvc metrics show data/timings -R`` reads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._atomic import write_json

__all__ = ["is_timing", "split_timings", "timings_path", "write_metrics", "METRICS_DIR", "TIMINGS_DIR"]

METRICS_DIR = Path("data/metrics")
TIMINGS_DIR = Path("data/timings")


def is_timing(key: str) -> bool:
    return key == "seconds" or key.endswith("_seconds")


def split_timings(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(scores, timings)``: nested mappings split key by key; a mapping left empty on one side is dropped."""
    scores: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            inner_scores, inner_timings = split_timings(value)
            if inner_scores:
                scores[key] = inner_scores
            if inner_timings:
                timings[key] = inner_timings
        elif is_timing(str(key)):
            timings[key] = value
        else:
            scores[key] = value
    return scores, timings


def timings_path(metrics_path: str | os.PathLike[str]) -> Path:
    """Where the timings of ``metrics_path`` go: the same path under ``data/timings/`` for a file under
    ``data/metrics/`` (relative or inside a workspace), else ``<name>.timings.json`` beside it."""
    path = Path(metrics_path)
    parts = path.parts
    for i in range(len(parts) - 1):
        if Path(*parts[i:i + 2]) == METRICS_DIR:
            return Path(*parts[:i], TIMINGS_DIR, *parts[i + 2:])
    return path.with_name(f"{path.stem}.timings.json")


def write_metrics(metrics_path: str | os.PathLike[str], values: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``values``' scores to ``metrics_path`` and their timings (if any) to :func:`timings_path`, each
    atomically; returns the timings."""
    scores, timings = split_timings(values)
    write_json(metrics_path, scores)
    if timings:
        write_json(timings_path(metrics_path), timings)
    return timings
