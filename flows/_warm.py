"""Stage commands run by a warm server instead of a fresh interpreter.

A stage command (``python -m flows.denoise aviris``) spends 3–5 s starting Python and importing Prefect, torch,
scipy, xarray, dask and matplotlib before it does any work: on the default collection, where a stage computes for
about a second, most of a bare ``dvc repro``'s time. So the command hands itself to a *warm server*, a process
that imported all of that once (the stage modules, every method family, the readers, metrics and figures). For
each command the server forks a process that runs the stage module as ``python -m`` would: the command's
arguments, environment, working directory and standard streams (passed over a Unix socket), in a process of its
own (a crash or a leak stays in it; its memory is returned when it ends). The command waits for it and exits with
its code; a signal it receives (Ctrl-C) is passed on, and a command killed outright (``kill -9``) takes its stage
with it. The pipeline flow runs its stages the same way (:func:`run`).

One server serves the commands of one interpreter, working directory and environment (DVC's per-stage variables,
the pipeline's API URL and flow run apart); the first command starts it and runs cold while it starts, and the
server stops once no command has come for ``SPECTRAFLOW_STAGE_SERVER_IDLE`` seconds (60), or at once when a
module it imported changed on disk (an edited source file, an upgraded package: that command runs cold). Set
``SPECTRAFLOW_WARM=0`` to run every command cold; platforms without ``pidfd_open`` and descriptor passing do.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import gc
import hashlib
import json
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from prefect.settings import Settings

__all__ = ["FLOW_RUN_VARIABLE", "WARM_VARIABLE", "hand_off", "run", "serve", "start"]

WARM_VARIABLE = "SPECTRAFLOW_WARM"
#: The environment variable through which a stage's command takes over the flow run the pipeline made for it
#: (the flow run as the server returned it, in JSON: the stage needs not read it back)
FLOW_RUN_VARIABLE = "SPECTRAFLOW_FLOW_RUN"
#: what may differ between the commands one server runs: given to each stage, not part of the server's identity
_PER_COMMAND = {"PREFECT_API_URL", FLOW_RUN_VARIABLE, WARM_VARIABLE, "PWD", "OLDPWD", "SHLVL", "_"}
#: ``flows`` modules that orchestrate stages rather than run one: always started cold
_ORCHESTRATORS = {"pipeline", "landing"}
#: what the stages import as they run, beside the stage modules and the method families': the readers and
#: writers, the metrics, the figures, the training loop, and the libraries these import inside their functions:
#: xarray looks for sparse, which brings numba, and for pint (0.16 s); the flow and task engines, the async
#: backend their workers run on and the flow-graph module (with graphviz: 0.05 s); matplotlib's Agg canvas and
#: the image formats PIL registers as a figure is saved; the thread-pool control, scikit-image's morphology,
#: h5netcdf's API for ground truth. Found by listing the modules each default per-scene stage imported in its
#: process beyond the server's: 0.25-0.3 s a stage before (the report's DVC and the training stages' sympy, which
#: torch imports as a model trains, run once per collection and are left to them).
_STAGE_LIBRARIES = ("spectraflow.io", "spectraflow.metrics", "spectraflow.report.figures", "spectraflow.train",
                    "spectraflow._progress", "xarray", "dask.array", "distributed", "zarr", "sparse", "pint",
                    "matplotlib.pyplot", "matplotlib.backends.backend_agg", "PIL.Image", "prefect.flow_engine",
                    "prefect.task_engine", "prefect.utilities.visualization", "anyio._backends._asyncio",
                    "rich._emoji_codes", "threadpoolctl", "skimage.morphology", "h5netcdf.legacyapi",
                    "h5py._hl.dims", "platformdirs", "importlib_metadata", "email.policy")
#: The longest the server waits for a command's request once it connected (it sends it at once)
_RECEIVE_SECONDS = 5.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _supported() -> bool:
    return hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


def _server_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment a server imports its modules under: the command's, less what differs per command."""
    return {k: v for k, v in env.items() if k not in _PER_COMMAND and not k.startswith("DVC_")}


def _socket_path(env: Mapping[str, str], cwd: str) -> Path | None:
    """Where the server for this interpreter, directory and environment listens; None when the private directory
    for it cannot be had (another user's, or open to others)."""
    directory = Path(tempfile.gettempdir()) / f"spectraflow-warm-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    shared = sorted(_server_env(env).items())
    key = hashlib.sha256(json.dumps([sys.executable, os.path.realpath(cwd), shared]).encode()).hexdigest()
    return directory / f"{key[:24]}.sock"


def _server_path(env: Mapping[str, str]) -> Path | None:
    """The socket of the server for ``env`` and the current directory; None when commands run cold."""
    if env.get(WARM_VARIABLE, "1") == "0" or not _supported():
        return None
    return _socket_path(env, os.getcwd())


def start(env: Mapping[str, str]) -> None:
    """Start the server for ``env`` and the current directory unless one is starting or serving (the pipeline
    does as it opens the repository: its first stages find the server warm, :func:`run`'s ``wait``)."""
    path = _server_path(env)
    if path is not None and not path.exists():
        _start(path, env)


def _connect(path: Path, env: Mapping[str, str], wait: float) -> socket.socket | None:
    """A connection to the server at ``path``; if there is none, start one, and wait up to ``wait`` seconds
    while it starts (a server that stops starting ends the wait)."""
    deadline = time.monotonic() + wait
    started = False
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
            return sock
        except OSError:
            sock.close()
        if not started:
            _start(path, env)
            started = True
        if time.monotonic() >= deadline or not _starting(path):
            return None
        time.sleep(0.1)


def _starting(path: Path) -> bool:
    """Whether a server for ``path`` holds its lock (starting, or serving)."""
    try:
        lock = os.open(path.with_suffix(".lock"), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(lock)


def run(module: str, args: Sequence[str], env: Mapping[str, str], fds: Sequence[int] = (0, 1, 2),
        wait: float = 0.0) -> int | None:
    """Run ``python -m module args`` (a ``flows`` stage module) in a process forked from the warm server, with
    ``fds`` as its standard input, output and error and the current directory; its exit code (negative: the
    signal that ended it). None when no server is ready within ``wait`` seconds (one is started for the next
    command; run it cold)."""
    path = _server_path(env)
    if path is None:
        return None
    cwd = os.getcwd()
    sock = _connect(path, env, wait)
    if sock is None:
        return None
    with sock:
        request = json.dumps({"module": module, "args": list(args), "env": dict(env), "cwd": cwd}).encode()
        replies = sock.makefile("rb")
        try:
            socket.send_fds(sock, [struct.pack("!I", len(request)) + request], list(fds))
            started = replies.readline().startswith(b"started")
        except OSError:
            started = False
        if not started:
            return None  # the server found its modules changed, or stopped before it took the command
        last = b""
        with _passing_signals(sock), contextlib.suppress(OSError):
            last = replies.readline()
        if not last.startswith(b"exit "):
            print(f"spectraflow: the warm server's process for {module} ended before the stage did",
                  file=sys.stderr)
            return 1
        return int(last.split()[1])


@contextlib.contextmanager
def _passing_signals(sock: socket.socket) -> Iterator[None]:
    """Pass the signals this process receives (Ctrl-C, a termination) on to the stage's process group."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def pass_on(received: int, _: object) -> None:
        with contextlib.suppress(OSError):
            sock.send(b"%d\n" % received)

    previous = {number: signal.signal(number, pass_on) for number in _SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def hand_off() -> None:
    """Called when ``flows`` is imported for ``python -m flows.<stage> ...``: run the stage warm and exit with its
    code, or return, and the command goes on cold."""
    words = sys.orig_argv
    if sys.argv[:1] != ["-m"] or "-m" not in words[:-1]:
        return
    module = words[words.index("-m") + 1]
    package, _, name = module.partition(".")
    if package != "flows" or not name or name.startswith("_") or name in _ORCHESTRATORS:
        return
    code = run(module, sys.argv[1:], os.environ)
    if code is None:
        return
    if code < 0:  # ended by a signal: so does the command
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _start(path: Path, env: Mapping[str, str]) -> None:
    """Start the server for ``path`` unless one is starting or serving (it holds the lock beside the socket for
    its life: this process takes the lock and hands it over)."""
    lock = _lock(path.with_suffix(".lock"))
    if lock is None:
        return
    try:
        path.unlink(missing_ok=True)  # a socket its server left when it was killed
        with open(path.with_suffix(".log"), "ab") as log:
            serve = f"from {__name__} import serve; serve({str(path)!r}, {lock})"
            subprocess.Popen([sys.executable, "-c", serve], env=_server_env(env),
                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(lock,),
                             start_new_session=True)
    finally:
        os.close(lock)


def _lock(path: Path) -> int | None:
    """An open descriptor of the lock file ``path``, locked; None when another process holds it. A server removes
    its lock file as it stops, still holding it: a lock taken on a file that is no longer at ``path`` is a
    stopped server's, so it is taken again on the file now there."""
    while True:
        lock = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            return None
        try:
            if os.stat(path).st_ino == os.fstat(lock).st_ino:
                return lock
        except FileNotFoundError:
            pass
        os.close(lock)


def _preload() -> None:
    import importlib
    import pkgutil

    import flows
    from spectraflow.compute import find_thread_pools
    from spectraflow.methods import provider_modules

    stages = sorted(f"flows.{m.name}" for m in pkgutil.iter_modules(flows.__path__) if not m.name.startswith("_"))
    for module in (*stages, *provider_modules(), *_STAGE_LIBRARIES):
        importlib.import_module(module)
    sys.modules["PIL.Image"].init()  # the image formats, which PIL registers the first time it writes one
    find_thread_pools()  # of everything imported: no stage looks for them again


def _code_paths() -> list[str]:
    """The paths whose state says whether the server's code is still the code on disk: the file of each imported
    module outside the directories packages are installed in (the project's sources, an editable install's), and
    those directories themselves (installing, upgrading or removing a package adds or removes entries in them,
    which changes their modification time). About 150 paths where the modules' own files are about 4100: stat-ing
    them all took 20 ms a command, 40 ms on busy cores."""
    import site
    import sysconfig

    layout = sysconfig.get_paths()
    installed = sorted({*site.getsitepackages(), site.getusersitepackages(), layout["purelib"], layout["platlib"],
                        layout["stdlib"]}, key=len, reverse=True)
    paths = set()
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if isinstance(name, str):
            paths.add(next((d for d in installed if name.startswith(d + os.sep)), name))
    return sorted(paths)


def _stamps(paths: list[str]) -> list[tuple[int, int]]:
    """Each path's modification time and size ((0, 0) for a missing one)."""
    stamps = []
    for path in paths:
        try:
            info = os.stat(path)
            stamps.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamps.append((0, 0))
    return stamps


def serve(socket_path: str, lock: int) -> None:
    """The server: import what the stages import, then fork a supervisor for each command until idle."""
    from spectraflow.stage_server import IDLE_VARIABLE  # the same idle time as the stages' Prefect server's

    path = Path(socket_path)
    idle = float(os.environ.get(IDLE_VARIABLE, 60.0))
    _preload()
    sources = _code_paths()
    imported = _stamps(sources)
    # what the server imported is shared with every stage process it forks; frozen out of the garbage collector,
    # a stage's collections neither walk it nor copy its pages (a full collection in a fork: 0.3-0.4 s)
    gc.collect()
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ready = path.with_name(f".{path.name}.{os.getpid()}")
    listener.bind(str(ready))
    listener.listen(64)
    os.rename(ready, path)  # commands find it only once it is warm
    supervisors: set[int] = set()
    known_settings: dict[str | None, Settings] = {}
    quiet_since = time.monotonic()
    try:
        while True:
            pending, _, _ = select.select([listener], [], [], 1.0)
            supervisors = {pid for pid in supervisors if os.waitpid(pid, os.WNOHANG)[0] == 0}
            if supervisors:
                quiet_since = time.monotonic()
            if not pending:
                if time.monotonic() - quiet_since > idle:
                    return
                continue
            conn, _ = listener.accept()
            quiet_since = time.monotonic()
            if _stamps(sources) != imported:
                conn.close()  # the command runs cold; the next one starts a server with the new code
                return
            received = _receive(conn)
            if received is None:
                conn.close()
                continue
            request, fds = received
            try:
                settings = _stage_settings(request["env"].get("PREFECT_API_URL"), known_settings)
            except Exception:  # a URL Prefect refuses: the command runs cold, and Prefect says why there
                conn.close()
                for fd in fds:
                    os.close(fd)
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                os.close(lock)
                code = 1
                try:
                    code = _supervise(conn, path, request, fds, settings)
                finally:
                    os._exit(code)
            supervisors.add(pid)
            conn.close()
            for fd in fds:
                os.close(fd)
    finally:
        # nothing of a stopped server stays behind (one per interpreter, directory and environment: the test
        # suite alone would leave hundreds); its log only if it wrote to it. The lock file goes while it is held.
        path.unlink(missing_ok=True)
        log = path.with_suffix(".log")
        with contextlib.suppress(OSError):
            if log.stat().st_size == 0:
                log.unlink()
        path.with_suffix(".lock").unlink(missing_ok=True)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    """A command's request (module, arguments, environment, directory) and its three standard streams; None when
    it does not come whole within :data:`_RECEIVE_SECONDS` (a command that went away)."""
    conn.settimeout(_RECEIVE_SECONDS)
    fds: list[int] = []
    try:
        data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        if len(data) < 4 or len(fds) != 3:
            raise OSError("a request without its size or its three streams")
        size = struct.unpack("!I", data[:4])[0]
        body = data[4:]
        while len(body) < size:
            chunk = conn.recv(1 << 16)
            if not chunk:
                raise OSError("the command went away")
            body += chunk
        conn.settimeout(None)
        return json.loads(body), fds
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        return None


def _stage_settings(url: str | None, known: dict[str | None, Settings]) -> Settings:
    """The Prefect settings a stage runs with: the server's (read from the same environment when it imported
    Prefect) with the command's API URL, or the default without one (a bare ``dvc repro``'s stage then finds the
    stage server, spectraflow.stage_server), and no heartbeat thread (the pipeline watches its stages' processes:
    one that dies leaves its flow run Crashed, tasks.dvc; joining that thread costs up to a second at every run's
    end). Made by the server once per URL (Prefect validates all its settings anew: 40 ms, 0.1-0.2 s on busy
    cores), so the stages of a pipeline run only enter them."""
    if url not in known:
        from prefect.context import get_settings_context
        from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY

        current = get_settings_context().settings
        quiet: dict[Any, Any] = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        if len(known) >= 8:  # a server outlives the pipeline runs of a test session, each on a server of its own
            known.clear()
        known[url] = (current.copy_with_update(updates={**quiet, PREFECT_API_URL: url}) if url else
                      current.copy_with_update(updates=quiet, restore_defaults=[PREFECT_API_URL]))
    return known[url]


def _supervise(conn: socket.socket, path: Path, request: dict[str, Any], fds: list[int], settings: Settings) -> int:
    """Fork the command's stage process, pass it the command's signals, and send back its exit code; kill it if
    the command goes away, and remove the temporaries it left (journaled beside the server's socket ``path``)."""
    from spectraflow._atomic import JOURNAL_VARIABLE, remove_journaled

    journal = path.with_name(f"{path.name}.partials-{os.getpid()}")
    request["env"][JOURNAL_VARIABLE] = str(journal)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_stage(request, fds, settings)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)  # also done by the child: whichever comes first
    for fd in fds:
        os.close(fd)
    conn.sendall(b"started %d\n" % pid)
    exited = os.pidfd_open(pid)
    watched: list[int | socket.socket] = [exited, conn]
    while True:
        readable, _, _ = select.select(watched, [], [])
        if exited in readable:
            break
        message = conn.recv(64)
        if not message:  # the command was killed: so is its stage, with what it started
            _signal_group(pid, signal.SIGKILL)
            watched = [exited]
        for line in message.split():
            _signal_group(pid, int(line))
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if code != 0:  # its temporaries, which DVC would not clear if it restored the outputs from its run cache
        remove_journaled(journal)
    journal.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        conn.sendall(b"exit %d\n" % code)
    return 0


def _signal_group(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)


def _run_stage(request: dict[str, Any], fds: list[int], settings: Settings) -> NoReturn:
    """In the stage's process: the command's streams, directory, environment and arguments, then its module as
    ``python -m`` runs it, and an exit as the interpreter's (the exit handlers the stage registered, logging's)."""
    code = 1
    try:
        os.setpgid(0, 0)
        atexit._clear()  # the server's handlers are the server's
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
                os.close(fd)
        sys.stdout.reconfigure(line_buffering=os.isatty(1))  # type: ignore[union-attr]
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update(request["env"])
        module = str(request["module"])
        sys.argv = [module, *request["args"]]
        _run_module(module, settings)
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        import logging

        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _run_module(module: str, settings: Settings) -> None:
    import runpy
    import warnings

    from prefect.context import SettingsContext, get_settings_context

    # the server imported the module already: runpy runs it again as __main__, as `python -m` would
    warnings.filterwarnings("ignore", f"'{module}' found in sys.modules", RuntimeWarning)
    with SettingsContext(profile=get_settings_context().profile, settings=settings):
        runpy.run_module(module, run_name="__main__", alter_sys=True)
