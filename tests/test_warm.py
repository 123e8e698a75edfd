"""Stage commands run warm (flows/_warm.py): a ``flows`` package holding a probe stage beside the real hook, run
as ``python -m flows.probe`` cold and warm; what the command sees must not depend on which it was."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO

PROBE = '''
import os, sys, time

if __name__ == "__main__":
    print("warm" if "torch" in sys.modules else "cold", sys.argv[1:], os.getcwd(), os.environ.get("PROBE_VALUE"),
          sys.stdin.read().strip(), flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    if sys.argv[1] == "sleep":
        with open("stage.pid", "w") as f:
            f.write(str(os.getpid()))
        time.sleep(120)
    if sys.argv[1] == "frozen":
        import gc
        print("frozen", gc.get_freeze_count(), flush=True)
        raise SystemExit(0)
    raise SystemExit(int(sys.argv[1]))
'''


@pytest.fixture
def package(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    for name in ("__init__.py", "_warm.py"):
        shutil.copy(REPO / "flows" / name, tmp_path / "flows" / name)
    (tmp_path / "flows/probe.py").write_text(PROBE)
    return tmp_path


def _env() -> dict[str, str]:
    return {**os.environ, "PROBE_VALUE": "v", "SPECTRAFLOW_STAGE_SERVER_IDLE": "30"}


def _command(package: Path, *args: str, stdin: str = "in", cold: bool = False,
             **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m flows.probe args``; with ``cold``, as ``SPECTRAFLOW_WARM=0`` runs it."""
    env = {**_env(), "SPECTRAFLOW_WARM": "0"} if cold else _env()
    return subprocess.run([sys.executable, "-m", "flows.probe", *args], cwd=package, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, **kwargs)  # type: ignore[call-overload]


def _until_warm(package: Path) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = _command(package, "0")
        if done.stdout.startswith("warm"):
            return done
        time.sleep(1)
    raise AssertionError("the warm server never served")


def test_a_command_sees_the_same_run_cold_and_warm(package: Path) -> None:
    cold = _command(package, "3", "an argument")
    assert cold.stdout.startswith("cold")  # the first command starts the server and runs cold meanwhile
    _until_warm(package)
    warm = _command(package, "3", "an argument")
    assert warm.stdout.startswith("warm")
    assert warm.returncode == cold.returncode == 3
    assert warm.stdout.split(" ", 1)[1] == cold.stdout.split(" ", 1)[1]  # arguments, directory, environment, stdin
    assert warm.stderr == cold.stderr == "to stderr\n"
    # an edited module: the server stops, that command runs cold, a later one warm with the new code
    (package / "flows/probe.py").write_text(PROBE.replace("to stderr", "edited"))
    assert _command(package, "0").stdout.startswith("cold")
    assert _until_warm(package).stderr == "edited\n"
    assert _command(package, "0", cold=True).stdout.startswith("cold")


def test_what_the_server_imported_stays_out_of_the_stages_garbage_collections(package: Path) -> None:
    """A stage process forked from the server shares the server's objects; a full collection that walked them
    would copy their pages and cost 0.3-0.4 s per stage, so the server freezes them before it forks."""
    _until_warm(package)
    warm = _command(package, "frozen").stdout.splitlines()
    assert warm[0].startswith("warm")
    frozen = int(warm[1].split()[1])
    assert frozen > 100_000  # torch, scipy, xarray, dask, Prefect... (about 450 000 objects)
    cold = _command(package, "frozen", cold=True).stdout.splitlines()
    assert cold[0].startswith("cold") and cold[1] == "frozen 0"


def _sleeping(package: Path) -> tuple[subprocess.Popen[str], int]:
    command = subprocess.Popen([sys.executable, "-m", "flows.probe", "sleep"], cwd=package, env=_env(),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert command.stdout is not None and command.stdout.readline().startswith("warm")
    while not (package / "stage.pid").is_file() or not (package / "stage.pid").read_text():
        time.sleep(0.05)
    pid = int((package / "stage.pid").read_text())
    (package / "stage.pid").unlink()
    return command, pid


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_signals_reach_the_stage_and_a_killed_command_takes_it_along(package: Path) -> None:
    _command(package, "0")
    _until_warm(package)
    command, stage = _sleeping(package)
    assert stage != command.pid
    command.send_signal(signal.SIGTERM)  # passed on: the stage ends by it, and the command the same way
    assert command.wait(30) == -signal.SIGTERM and _gone(stage)
    command, stage = _sleeping(package)
    os.killpg(command.pid, signal.SIGKILL)  # nothing to pass on: the server sees the command gone
    command.wait(30)
    assert _gone(stage)


def test_a_caller_that_waits_gets_the_server_it_started(package: Path) -> None:
    """The pipeline starts the server as it opens the repository and its stages wait for it (``wait``); a caller
    that does not wait runs cold while the server starts."""
    code = ("import os, sys; from flows._warm import run, start; start(os.environ); "
            "print('code', run('flows.probe', ['5'], os.environ, wait=float(sys.argv[1])), flush=True)")

    def caller(wait: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", code, wait], cwd=package, env=_env(), input="in",
                              capture_output=True, text=True, timeout=180)
        return done.stdout.splitlines()

    assert caller("0") == ["code None"]  # not ready at once: the caller would run the command cold
    lines = caller("120")
    assert lines[-1] == "code 5" and lines[0].startswith("warm ['5']"), lines


def test_a_server_that_stops_leaves_nothing_behind(package: Path) -> None:
    """Each interpreter, directory and environment has its server; a stopped one removes its socket, its lock
    file and its empty log (the suite alone would leave hundreds), and the next command starts a fresh one."""
    env = {**_env(), "SPECTRAFLOW_STAGE_SERVER_IDLE": "1"}
    where = subprocess.run([sys.executable, "-c", "import os; from flows._warm import _server_path; "
                            "print(_server_path(os.environ))"], cwd=package, env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    socket_path = Path(where)
    files = [socket_path, socket_path.with_suffix(".lock"), socket_path.with_suffix(".log")]

    def probe() -> str:
        return subprocess.run([sys.executable, "-m", "flows.probe", "0"], cwd=package, env=env, input="",
                              capture_output=True, text=True, timeout=120).stdout

    for _ in range(2):  # the second round: a server started where the first one's files were removed
        deadline = time.monotonic() + 120
        while not probe().startswith("warm"):
            assert time.monotonic() < deadline, "the warm server never served"
            time.sleep(0.5)
        assert socket_path.with_suffix(".lock").exists()
        deadline = time.monotonic() + 60
        while any(f.exists() for f in files):
            assert time.monotonic() < deadline, [f.name for f in files if f.exists()]
            time.sleep(0.2)


def test_the_server_watches_its_sources_and_the_package_directories(tmp_path: Path) -> None:
    """What the server checks before each command (flows/_warm.py): the files of modules imported from outside the
    installed-package directories one by one, those directories as a whole, whose modification time changes when a
    package is installed, upgraded or removed (checked on this file system with a directory of our own)."""
    import site

    from flows import _warm

    paths = _warm._code_paths()
    packages = site.getsitepackages()[0]
    assert packages in paths and _warm.__file__ in paths
    assert not [p for p in paths if p.startswith(packages + os.sep)]  # none of its files one by one
    directory = tmp_path / "site-packages"
    directory.mkdir()
    before = _warm._stamps([str(directory)])
    time.sleep(0.01)
    (directory / "package-2.0.dist-info").mkdir()
    assert _warm._stamps([str(directory)]) != before
