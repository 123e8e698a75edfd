"""Tasks driving DVC: each stage of ``dvc.yaml`` run as its own Prefect task, scenes in parallel; metrics; push.

How scenes run in parallel while DVC's records stay consistent: ``dvc repro`` holds the repository lock for
as long as a stage's command runs, so two ``dvc repro`` processes cannot overlap. The pipeline flow therefore
splits what ``dvc repro`` does for one stage into its two parts. Asking DVC whether the stage changed, and
recording it afterwards (``Repo.commit(stage, force=True)``: the hashes of its dependencies and outputs into
``dvc.lock``, the outputs into the cache, as ``dvc repro`` records a stage it ran) take the lock briefly, one
at a time (:data:`_DVC`). Running the stage's command, the long part, takes no lock: the commands of stages
whose upstream stages are done run side by side, at most ``collection.parallel`` at once, each in a process of
its own forked from the warm server that imported the stage modules once (:mod:`flows._warm`, as a bare
``dvc repro``'s stage commands are: 3–5 s less per stage than a fresh interpreter). A stage that fails is not
recorded, so the next run (or ``dvc repro``) sees it changed and runs it, and only it, again; stages downstream of
it wait for that run; every other stage finishes and is recorded. A test checks that the raw files and stores,
the stages' params and their metrics (timings aside) equal a serial ``dvc repro``'s.

Recording a stage has two parts too: its outputs' hashes and their copy into the cache, done as soon as the stage
finishes, and its entry in ``dvc.lock``. DVC rewrites the whole lock file for an entry (a round-trip YAML parse and
dump: about 1 s for the default collection, and it grows with the number of scenes, so per stage it made the
overhead grow with the collection), so the entries of finished stages are written together, at most every
:data:`RECORD_SECONDS`, before the report (which shows them) and when the run ends. A run killed in between loses
no output, only entries: those stages run again next time, as a stage killed while running does. The repository
is opened once per run (:func:`recording`) and its stages loaded once, as ``dvc repro`` does: each check and
record then costs DVC's hashing only (its state database answers for files it hashed before), not a parse of
dvc.yaml and dvc.lock.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.logging import get_run_logger

from flows._warm import FLOW_RUN_VARIABLE
from flows._warm import run as run_warm
from flows._warm import start as start_warm

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

#: Serialises this process's use of the DVC repository (its lock admits one holder at a time).
_DVC = threading.Lock()
#: The longest a finished stage waits for its entry in dvc.lock (see the module's docstring), unless writing the
#: file takes longer than RECORD_SHARE of that: then it is written that much less often (at 50 scenes a write
#: takes about 10 s, during which no other stage is checked or recorded)
RECORD_SECONDS = 30.0
RECORD_SHARE = 0.05
#: The longest a stage's flow run waits for the server to know its parent task run (see _flow_run_for).
PARENT_SECONDS = 30.0
#: The longest a stage waits for the warm server the pipeline started as it opened the repository (about 5 s of
#: imports; a cold command would spend them too, competing with the server for the cores)
SERVER_WAIT = 60.0
#: Stages that gather the whole collection: they run on what succeeded even when a scene failed.
SUMMARY_STAGES = frozenset({"report"})


def _repo() -> Any:
    from dvc.repo import Repo

    return Repo(".")


def stage_graph() -> dict[str, list[str]]:
    """Every stage of ``dvc.yaml`` (``foreach`` expanded), each after the stages it depends on, mapped to them."""
    import networkx as nx

    with _DVC, _repo() as repo:
        graph = repo.index.graph  # edges point from a stage to the stages it depends on
        order = list(reversed(list(nx.topological_sort(graph))))
        return {stage.addressing: sorted(dep.addressing for dep in graph.successors(stage)) for stage in order}


@dataclass(frozen=True)
class StageOutcome:
    """What one stage did in a run: ``ran``, ``unchanged``, ``failed`` or ``blocked`` (an upstream stage
    failed), in how many seconds, and the error."""

    stage: str
    status: str
    seconds: float = 0.0
    error: str = ""
    #: of ``seconds``: DVC's check, the stage's command, DVC's record of it (outputs hashed, cached)
    check_seconds: float = 0.0
    command_seconds: float = 0.0
    record_seconds: float = 0.0

    @property
    def scene(self) -> str:
        return self.stage.partition("@")[2]


def _stage_command(name: str) -> tuple[str, bool]:
    """The stage's command and whether DVC sees it changed."""
    with _DVC:
        session = _session()
        stage = session.stages[name]
        with session.repo.lock:
            return str(stage.cmd), bool(stage.changed())


def _flow_run_for(command: str) -> FlowRun | None:
    """A flow run, child of the current task run, that the stage's command (``python -m flows.<module> [args]``)
    takes over: the UI shows it under this task, with its logs. None when the command is not a flow module."""
    import importlib

    from prefect import get_client
    from prefect.context import TaskRunContext
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
    from prefect.states import Pending

    from flows._params import command_parameters, stage_flow

    words = shlex.split(command)
    context = TaskRunContext.get()
    if len(words) < 3 or words[:2] != ["python", "-m"] or not words[2].startswith("flows.") or context is None:
        return None
    flow = stage_flow(importlib.import_module(words[2]))
    # the server records a task run from its events, a moment after it starts: until then a child naming it as
    # its parent is refused (409, with the database's integrity error in the server's log), so the child is
    # created once the task run reads back (404 before), for up to PARENT_SECONDS
    deadline, pause = time.monotonic() + PARENT_SECONDS, 0.05
    while True:
        try:
            with get_client(sync_client=True) as client:
                client.read_task_run(context.task_run.id)
                run = client.create_flow_run(flow=flow, parameters=command_parameters(flow, words[3:]),
                                             state=Pending(), name=" ".join([flow.name, *words[3:]]),
                                             parent_task_run_id=context.task_run.id)
            return run
        except (ObjectNotFound, PrefectHTTPStatusError) as exc:
            unexpected = isinstance(exc, PrefectHTTPStatusError) and exc.response.status_code != 409
            if unexpected or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 1.0)


def _close_crashed(run_id: str, code: int) -> None:
    """Mark Crashed the flow run of a stage whose process ended (killed, out of memory) before the run did."""
    from uuid import UUID

    from prefect import get_client
    from prefect.states import Crashed

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(run_id))
        if run.state is None or not run.state.is_final():
            client.set_flow_run_state(run.id, Crashed(message=f"the stage's process ended with code {code}"),
                                      force=True)


def _run_command(command: str, env: dict[str, str], flow_module: bool) -> tuple[int, str]:
    """Run a stage's command: a flow module (``python -m flows.<stage> ...``) in a process forked from the warm
    server (:mod:`flows._warm`; waiting for it while it starts), anything else as written; its exit code and
    output."""
    words = shlex.split(command)
    if words[0] == "python":
        words[0] = sys.executable
    with tempfile.TemporaryFile("w+") as output, open(os.devnull) as nothing:
        code = run_warm(words[2], words[3:], env, (nothing.fileno(), output.fileno(), output.fileno()),
                        wait=SERVER_WAIT) if flow_module else None
        if code is None:
            code = subprocess.run(words, env=env, stdin=nothing, stdout=output, stderr=subprocess.STDOUT).returncode
        output.seek(0)
        return code, output.read()


def _api_url() -> str:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return str(client.api_url)


@task(name="dvc-stage")
def run_stage(name: str) -> StageOutcome:
    """Run one stage if DVC sees it changed, then record it in ``dvc.lock``; the command runs unlocked, as a
    child flow run of this task on the pipeline's Prefect server (no server of its own)."""
    logger = get_run_logger()
    start = time.perf_counter()
    if name in SUMMARY_STAGES:  # the report shows dvc.lock's entries: those of the stages before it first
        write_records()
    command, changed = _stage_command(name)
    if not changed:
        logger.info("stage %s: unchanged, skipped", name)
        return StageOutcome(name, "unchanged", time.perf_counter() - start)
    checked = time.perf_counter()
    env = {**os.environ, "PREFECT_API_URL": _api_url()}
    child = _flow_run_for(command)
    if child is not None:
        env[FLOW_RUN_VARIABLE] = child.model_dump_json()  # the stage takes it over without reading it back
    logger.info("stage %s: running %s", name, command)
    code, output = _run_command(command, env, flow_module=child is not None)
    if code != 0 and child is not None:
        _close_crashed(str(child.id), code)
    if code != 0:
        tail = "\n".join(output.strip().splitlines()[-40:])
        raise RuntimeError(f"stage {name} failed (exit {code}): {command}\n{tail}")
    ran = time.perf_counter()
    _record(name)
    logger.info("stage %s: reproduced", name)
    end = time.perf_counter()
    return StageOutcome(name, "ran", end - start, check_seconds=checked - start, command_seconds=ran - checked,
                        record_seconds=end - ran)


class _Session:
    """The repository as a pipeline run uses it: its stages loaded once (DVC parses dvc.yaml and dvc.lock for
    every load, 0.1–0.3 s for the default collection and more with every scene), each stage's hashes updated in
    place as it is recorded (as ``dvc repro`` keeps them between the stages it runs), the entries to write."""

    def __init__(self) -> None:
        self.repo = _repo()
        with self.repo.lock:
            self.stages = {stage.addressing: stage for stage in self.repo.index.stages}
        self.pending: list[Any] = []
        self.written = time.monotonic()
        self.write_seconds = 0.0

    def due(self) -> bool:
        """Whether the pending entries are due in dvc.lock (see :data:`RECORD_SECONDS`)."""
        return time.monotonic() - self.written >= max(RECORD_SECONDS, self.write_seconds / RECORD_SHARE)

    def write(self) -> None:
        """Write the pending entries into dvc.lock."""
        stages, self.pending = self.pending, []
        start = time.monotonic()
        if stages:
            with self.repo.lock:
                stages[0].dvcfile.dump_stages(stages, update_pipeline=False)
        self.written = time.monotonic()
        self.write_seconds = self.written - start


_SESSION: _Session | None = None


def _session() -> _Session:
    if _SESSION is None:
        raise RuntimeError("a stage runs inside tasks.dvc.recording(), which opens the repository for the run")
    return _SESSION


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """The repository open for :func:`run_stage` while the body runs; every stage recorded is in dvc.lock when
    it ends, whether the body finished or raised."""
    global _SESSION
    start_warm(os.environ)  # it imports while DVC loads the repository
    with _DVC:
        _SESSION = _Session()
    try:
        yield
    finally:
        with _DVC:
            try:
                _SESSION.write()
            finally:
                _SESSION.repo.close()
                _SESSION = None


def _record(name: str) -> None:
    """Record a stage that ran as ``dvc repro`` does (its dependencies' and outputs' hashes, its outputs into
    the cache); its entry in dvc.lock is written if due (:data:`RECORD_SECONDS`)."""
    with _DVC:
        session = _session()
        stage = session.stages[name]
        with session.repo.lock:
            stage.save()
            stage.commit()
        session.pending.append(stage)
        if session.due():
            session.write()


def write_records() -> None:
    """Write the dvc.lock entries of every stage recorded since the last write (before a stage that reads them)."""
    with _DVC:
        _session().write()


def error_line(exc: BaseException) -> str:
    """The line of an error that says what went wrong: a stage's failure carries its command's output, whose
    last ``SomethingError: message`` line is the cause."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reasons = [line for line in lines if line.split(":", 1)[0].endswith(("Error", "Exception", "Failed"))]
    return (reasons[-1] if reasons else lines[0] if lines else type(exc).__name__)[:500]


def flatten_metrics(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """``Repo.metrics.show()`` → rows of ``{path, metric, value}`` (the table ``dvc metrics show`` prints)."""
    from spectraflow.report.document import flatten

    return [{"path": path, "metric": metric, "value": value}
            for revision in shown.values() for path, entry in revision.get("data", {}).items()
            for metric, value in flatten(entry.get("data", {})).items()]


@task(name="dvc-metrics")
def collect_metrics() -> list[dict[str, Any]]:
    with _DVC, _repo() as repo:
        return flatten_metrics(repo.metrics.show())


@task(name="dvc-push", retries=2, retry_delay_seconds=5)
def push_if_remote() -> int | None:
    """Push every artifact to the default remote, when one is configured; return the count pushed."""
    with _DVC, _repo() as repo:
        if not repo.config["core"].get("remote"):
            get_run_logger().info("no default DVC remote configured: nothing pushed")
            return None
        return int(repo.push())
