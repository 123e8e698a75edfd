"""Shared fixtures. The real benchmark files are read in place from $SPECTRAFLOW_SHARED_DATA
(default ../shared/data); in CI a missing file fails the test rather than skipping it.

Fresh random data stay fresh and become replayable: in every test, ``np.random.default_rng()`` without a seed
draws from one entropy per test (new each run), which a failing test prints; ``SPECTRAFLOW_TEST_ENTROPY=<n>``
replays it."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Before anything imports Prefect: its state in a directory of the tests' own, never ~/.prefect or the project's
# .prefect (in-process tests start Prefect's temporary server), and, as for every stage, telemetry off
# (flows/__init__.py), so the README's test command reaches no network with nothing exported
os.environ.setdefault("PREFECT_HOME", os.path.join(tempfile.gettempdir(), "spectraflow-tests-prefect"))
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import flows  # noqa: E402,F401
from spectraflow.datasets import SHARED_DATA_ENV, shared_data_dir  # noqa: E402

os.environ.setdefault("DASK_TEMPORARY_DIRECTORY", "/tmp/spectraflow-dask")
REPO = Path(__file__).resolve().parents[1]
ENTROPY_VARIABLE = "SPECTRAFLOW_TEST_ENTROPY"
_ENTROPY = pytest.StashKey[int]()


@pytest.fixture(autouse=True)
def _replayable_fresh_data(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    entropy = int(os.environ.get(ENTROPY_VARIABLE) or secrets.randbits(128))
    request.node.stash[_ENTROPY] = entropy
    sequence = np.random.SeedSequence(entropy)
    unseeded = np.random.default_rng

    def default_rng(seed: Any = None) -> np.random.Generator:
        return unseeded(sequence.spawn(1)[0] if seed is None else seed)

    monkeypatch.setattr(np.random, "default_rng", default_rng)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    entropy = item.stash.get(_ENTROPY, None)
    if report.failed and entropy is not None:
        report.sections.append(("fresh random data", f"replay with {ENTROPY_VARIABLE}={entropy}"))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop Prefect's temporary server (which in-process tests start) while pytest's output is open: left to its
    exit hook, it logged its stopping to a stream pytest had closed, and every run ended in a '--- Logging error ---'
    traceback ('I/O operation on closed file'); stopped before the event and log workers had drained, they logged
    their failure to reach it the same way."""
    import sys

    if "prefect.server.api.server" in sys.modules:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker
        from prefect.server.api.server import SubprocessASGIServer

        EventsWorker.drain_all()  # what the runs still have to send goes first, as Prefect's own test harness does
        APILogWorker.drain_all()
        SubprocessASGIServer().stop()  # the temporary server: the instance of no fixed port


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
