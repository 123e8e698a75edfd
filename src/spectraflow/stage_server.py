"""One Prefect server for all the stages of a bare ``dvc repro``.

Without ``PREFECT_API_URL``, Prefect starts a temporary server for every flow run and stops it at the end (about
5 s on 2 cores), so a ``dvc repro`` of N scenes × 4 stages pays it 4N times. A stage command calls
:func:`prefect_api` instead: the first stage starts a server detached from itself (its own session, so DVC
and a killed stage leave it alone), each later stage finds it through ``$PREFECT_HOME/stage-server/server.json``
and reuses it. Every stage process holds a lease (a file named by its pid) while it runs; the server stops by
itself once no lease has been alive for ``SPECTRAFLOW_STAGE_SERVER_IDLE`` seconds (default 60). It keeps its
runs in Prefect's own database under ``PREFECT_HOME``, so ``prefect server start`` shows them afterwards.

A set ``PREFECT_API_URL`` (a real server, the pipeline flow's) is used as it is, and with Prefect's ephemeral mode
switched off nothing is started (Prefect then refuses to run, as it would without this module). The server is
Prefect's, as :mod:`spectraflow.prefect_server` runs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ._atomic import pid_alive

__all__ = ["prefect_api", "shared_server_url", "state_dir"]

IDLE_VARIABLE = "SPECTRAFLOW_STAGE_SERVER_IDLE"
STARTUP_SECONDS = 120.0


def state_dir() -> Path:
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()) / "stage-server"


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _running(directory: Path) -> str | None:
    """The recorded server's API URL if its process is alive and answers, else None."""
    try:
        state = json.loads((directory / "server.json").read_text())
    except (OSError, ValueError):
        return None
    if pid_alive(int(state["pid"])) and _healthy(state["url"]):
        return str(state["url"])
    return None


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(directory: Path, idle: float) -> str:
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.pop("PREFECT_API_URL", None)
    with open(directory / "server.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", __name__, str(directory), str(port), str(idle)], env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _healthy(url, timeout=1.0):
        if proc.poll() is not None:
            raise RuntimeError(f"the stage server exited with code {proc.returncode}; see {directory / 'server.log'}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the stage server did not answer within {STARTUP_SECONDS:.0f} s; "
                               f"see {directory / 'server.log'}")
        time.sleep(0.1)
    (directory / "server.json").write_text(json.dumps({"pid": proc.pid, "port": port, "url": url}))
    return url


def shared_server_url(idle: float | None = None) -> str:
    """The API URL of the shared stage server (started if none is running), leased to this process."""
    directory = state_dir()
    idle = float(os.environ.get(IDLE_VARIABLE, 60.0)) if idle is None else idle
    with _locked(directory):
        url = _running(directory) or _start(directory, idle)
        (directory / "leases").mkdir(exist_ok=True)
        (directory / "leases" / str(os.getpid())).touch()
    return url


@contextlib.contextmanager
def prefect_api() -> Iterator[None]:
    """Run the body against the configured Prefect API, or else the shared stage server (see the module)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED, temporary_settings

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        yield
        return
    with temporary_settings({PREFECT_API_URL: shared_server_url()}):
        yield


def _serve(directory: Path, port: int, idle: float) -> None:
    """The server process: Prefect's API on ``port`` until no lease has been alive for ``idle`` seconds."""
    import uvicorn

    from .prefect_server import api_app

    config = uvicorn.Config(api_app(), host="127.0.0.1", port=port, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    leases = directory / "leases"

    def watch() -> None:
        quiet_since = time.monotonic()
        while not server.should_exit:
            time.sleep(0.5)
            with _locked(directory):
                held = False
                for lease in leases.glob("*") if leases.is_dir() else []:
                    if lease.name.isdigit() and pid_alive(int(lease.name)):
                        held = True
                    else:
                        lease.unlink(missing_ok=True)
                if held:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > idle:
                    (directory / "server.json").unlink(missing_ok=True)  # under the lock: no stage takes it now
                    server.should_exit = True

    threading.Thread(target=watch, daemon=True).start()
    server.run()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
