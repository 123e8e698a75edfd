"""Scores and timings kept apart: the metrics file a rerun must write byte for byte, the timings beside it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spectraflow.timings import split_timings, timings_path, write_metrics


def test_split_timings_nested() -> None:
    values = {"noisy": {"mpsnr": 12.5}, "tv": {"mpsnr": 30.0, "seconds": 1.5}, "only_time": {"seconds": 2.0},
              "train_seconds": 9.0, "epochs": 3, "seconds_per_epoch": [1.0]}
    scores, timings = split_timings(values)
    assert scores == {"noisy": {"mpsnr": 12.5}, "tv": {"mpsnr": 30.0}, "epochs": 3, "seconds_per_epoch": [1.0]}
    assert timings == {"tv": {"seconds": 1.5}, "only_time": {"seconds": 2.0}, "train_seconds": 9.0}


@pytest.mark.parametrize(("metrics", "expected"), [
    ("data/metrics/aviris/denoise.json", "data/timings/aviris/denoise.json"),
    ("data/metrics/train_operator.json", "data/timings/train_operator.json"),
    ("/w/data/metrics/x/unmix.json", "/w/data/timings/x/unmix.json"),
    ("out/scores.json", "out/scores.timings.json"),
])
def test_timings_path(metrics: str, expected: str) -> None:
    assert timings_path(metrics) == Path(expected)


def test_write_metrics_twice_writes_the_same_scores(tmp_path: Path) -> None:
    path = tmp_path / "data/metrics/s/denoise.json"
    write_metrics(path, {"tv": {"mpsnr": 30.0, "seconds": 1.5}})
    first = path.read_bytes()
    write_metrics(path, {"tv": {"mpsnr": 30.0, "seconds": 2.5}})
    assert path.read_bytes() == first and json.loads(first) == {"tv": {"mpsnr": 30.0}}
    assert json.loads((tmp_path / "data/timings/s/denoise.json").read_text()) == {"tv": {"seconds": 2.5}}
