"""Faults: an injected I/O error on read is retried by the ingest task (once: it succeeds; always: the flow
fails naming the file); a write that runs out of space (a kernel file-size limit) fails cleanly, keeping the
previous store; two pipeline runs on one workspace: one runs, the other is refused by DVC's lock."""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spectraflow.config import IngestConfig
from spectraflow.io import open_store, readers, tree_sha256
from spectraflow.io._npy import NpyReader

opens: list[Path] = []


class _FlakyNpy(NpyReader):
    """The .npy reader behind a device that fails the first ``failures`` opens with EIO."""

    failures = 1

    def open(self, path: Path, **kwargs: Any) -> Any:
        opens.append(path)
        if len(opens) <= self.failures:
            raise OSError(errno.EIO, "Input/output error (injected)", str(path))
        return super().open(path, **kwargs)


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    """Prefect's test server and database, one for the module's flows (a start takes 10-20 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def flaky(workspace: Path, prefect_harness: None) -> Iterator[type[_FlakyNpy]]:
    opens.clear()
    readers.register("flaky-npy")(_FlakyNpy)
    np.save(workspace / "data/acq.npy", np.random.default_rng().random((20, 16, 8)).astype("f4"))
    try:
        yield _FlakyNpy
    finally:
        readers._items.pop("flaky-npy")  # type: ignore[attr-defined]


def _ingest_flow() -> Any:
    from prefect import flow

    from tasks.ingest import ingest_file

    @flow
    def ingest_once() -> str:
        return ingest_file(IngestConfig(source_dir="data", source="acq.npy", ground_truth=None, format="flaky-npy",
                                        out="data/stores/acq.zarr"))

    return ingest_once


def test_a_transient_read_error_is_retried_and_succeeds(flaky: type[_FlakyNpy], workspace: Path) -> None:
    flaky.failures = 1
    store = _ingest_flow()()
    assert len(opens) == 2  # failed once, retried once
    np.testing.assert_array_equal(open_store(store)["cube"].values, np.load(workspace / "data/acq.npy"))


def test_a_persistent_read_error_fails_the_flow_naming_the_file(flaky: type[_FlakyNpy], workspace: Path) -> None:
    flaky.failures = 10**6
    with pytest.raises(OSError, match="acq.npy"):
        _ingest_flow()()
    assert len(opens) == 3  # the first try and two retries
    assert not (workspace / "data/stores/acq.zarr").exists() and not list((workspace / "data/stores").glob(".*"))


def _file_size_limit(limit: int) -> None:  # in the child: the kernel refuses writes past `limit` bytes (EFBIG)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_running_out_of_space_fails_cleanly_and_keeps_the_previous_store(workspace: Path) -> None:
    cli = [sys.executable, "-m", "spectraflow.cli"]
    subprocess.run([*cli, "synth", "data/raw", "--height", "96", "--width", "96"], check=True, capture_output=True)
    dest = workspace / "data/scene.zarr"
    subprocess.run([*cli, "ingest", "data/raw/scene.hdr", "--out", str(dest), "--compressor", "lz4"], check=True,
                   capture_output=True)
    before = tree_sha256(dest)
    failed = subprocess.run([*cli, "ingest", "data/raw/scene.hdr", "--out", str(dest)], capture_output=True,
                            text=True, preexec_fn=lambda: _file_size_limit(256 << 10))
    message = " ".join(failed.stderr.split())
    assert failed.returncode == 2, failed.stderr
    assert "scene.zarr" in message and "File too large" in message and "previous store" in message
    assert "Traceback" not in failed.stderr
    assert tree_sha256(dest) == before  # the previous store, untouched
    assert sorted(p.name for p in dest.parent.iterdir()) == ["raw", "scene.zarr"]  # no partial left beside it


def test_two_pipeline_runs_at_once_one_is_refused_by_the_lock(workspace: Path) -> None:
    """DVC's repository lock serialises runs: while one `dvc repro` runs, a second fails and says why."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(cmd, check=True, capture_output=True, env=env)
    (workspace / "dvc.yaml").write_text("stages:\n  copy:\n    cmd: sleep 8 && cp data/in.txt data/out.txt\n"
                                        "    deps: [data/in.txt]\n    outs: [data/out.txt]\n")
    (workspace / "data/in.txt").write_text("acquisition\n")
    first = subprocess.Popen(["dvc", "repro"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    deadline = time.monotonic() + 60
    while not (workspace / ".dvc/tmp/rwlock").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the first run is inside its stage now
    second = subprocess.run(["dvc", "repro"], capture_output=True, text=True, env=env)
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out
    assert second.returncode != 0 and "lock" in (second.stdout + second.stderr).lower(), second.stderr
    assert (workspace / "data/out.txt").read_text() == "acquisition\n"  # the run that held the lock is whole
