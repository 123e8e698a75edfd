"""A throw-away copy of the repository as a fresh git repository, for pipeline tests and benchmarks."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..stage_server import free_port

__all__ = ["api_post", "artifact_rows", "concurrent_writes", "copy_workspace", "isolated_env", "prefect_server", "run",
           "wait_for"]


def isolated_env(home: Path) -> dict[str, str]:
    """Environment keeping Prefect, DVC and dask state under ``home``, with telemetry off."""
    return {**os.environ, "PREFECT_HOME": str(home / "prefect"), "DVC_NO_ANALYTICS": "1",
            "DVC_SITE_CACHE_DIR": str(home / "dvc-site"), "DASK_TEMPORARY_DIRECTORY": str(home / "dask"),
            "GIT_AUTHOR_NAME": "spectraflow", "GIT_AUTHOR_EMAIL": "ci@localhost",
            "GIT_COMMITTER_NAME": "spectraflow", "GIT_COMMITTER_EMAIL": "ci@localhost",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def run(cmd: list[str], cwd: Path, env: dict[str, str], check: bool = True, timeout: float = 900) -> str:
    """Run ``cmd``; on failure raise with the tail of its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def copy_workspace(source: Path, dest: Path, env: dict[str, str]) -> Path:
    """Copy ``source``'s tracked and untracked-not-ignored files to ``dest`` and commit them there."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=source,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        if (source / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, dest / rel)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "workspace copy"]):
        run(cmd, dest, env)
    return dest


def wait_for(url: str, seconds: float = 90) -> None:
    """Return once ``url`` answers; raise TimeoutError after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@contextlib.contextmanager
def prefect_server(env: dict[str, str], home: Path, stock: bool = False) -> Iterator[str]:
    """A real Prefect server (``spectraflow server``, as the README starts it; ``stock``: Prefect's own ``prefect
    server start``, for comparison) on a free loopback port, its database and log under ``home``; yields its API
    URL."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    command = ([str(Path(sys.executable).parent / "prefect"), "server", "start"] if stock
               else [sys.executable, "-m", "spectraflow.cli", "server"])
    with open(home / "server.log", "w") as log:
        proc = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)],
                                env={**env, "PREFECT_HOME": str(home)},
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(f"http://127.0.0.1:{port}/api/health", 120)
            yield f"http://127.0.0.1:{port}/api"
        finally:
            proc.terminate()
            proc.wait(30)


def api_post(url: str, path: str, body: dict[str, object]) -> Any:
    """POST ``body`` to the Prefect API at ``url`` + ``path``; the decoded answer."""
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def artifact_rows(url: str, key: str) -> list[dict[str, Any]]:
    """The rows of the latest table artifact ``key`` on the Prefect server at ``url``."""
    artifacts = api_post(url, "/artifacts/latest/filter", {"artifacts": {"key": {"any_": [key]}}})
    data = artifacts[0]["data"]
    return json.loads(data) if isinstance(data, str) else data


def concurrent_writes(url: str, threads: int = 6, rounds: int = 10) -> dict[int, int]:
    """Write to the Prefect API at ``url`` as a pipeline's concurrent stages do: ``threads`` threads, each
    ``rounds`` times creating a flow, a flow run of it, moving that to Running and sending it a log line, with no
    retry (Prefect's client would retry a 503 after 2, 4, 8.. s). The answers counted by HTTP status."""
    import threading
    import urllib.error
    import uuid
    from collections import Counter

    codes: Counter[int] = Counter()

    def post(path: str, body: object) -> Any:
        request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                codes[response.status] += 1
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            codes[exc.code] += 1
            return None

    def stage() -> None:
        for _ in range(rounds):
            flow = post("/flows/", {"name": f"stage-{uuid.uuid4().hex[:12]}"})
            run = flow and post("/flow_runs/", {"flow_id": flow["id"], "name": "run", "state": {"type": "PENDING"}})
            if run:
                post(f"/flow_runs/{run['id']}/set_state", {"state": {"type": "RUNNING"}})
                post("/logs/", [{"name": "stage", "level": 20, "message": "working", "flow_run_id": run["id"],
                                 "timestamp": "2026-01-01T00:00:00Z"}])

    workers = [threading.Thread(target=stage) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return dict(codes)
