"""Shared fixtures. The real benchmark files are read in place from $SPECTRAFLOW_SHARED_DATA
(default ../shared/data); in CI a missing file fails the test rather than skipping it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spectraflow.datasets import SHARED_DATA_ENV, shared_data_dir

os.environ.setdefault("DASK_TEMPORARY_DIRECTORY", "/tmp/spectraflow-dask")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_dir()
    if not (root / "MANIFEST.md").is_file():
        pytest.fail(f"shared benchmark data not found at {root.resolve()}: set {SHARED_DATA_ENV}")
    return root.resolve()  # tests that change directory still find it


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with a ``data/`` folder, made current."""
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path
