"""Progress of long work, where people look: a rich bar on a terminal; elsewhere (a log file, ``dvc repro``'s
output piped, a Prefect worker) a line every ``interval`` seconds and at the end, through the Prefect run's
logger inside a flow run (so the UI shows it) and on standard error otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

from dask.callbacks import Callback
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["ProgressReport", "DaskProgress", "log_line"]


def log_line(text: str) -> None:
    """``text`` in the Prefect run's log inside a flow run, else on standard error."""
    try:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger
    except ImportError:  # the library without the orchestration layer (a bare GPU machine, say)
        print(text, file=sys.stderr, flush=True)
        return
    try:
        get_run_logger().info(text)
    except MissingContextError:
        print(text, file=sys.stderr, flush=True)


class ProgressReport:
    """``with ProgressReport("train fno", total=10) as progress: progress.advance(status="loss 0.1")``.

    On a terminal (``terminal=None``: as rich's console sees standard error) a bar; otherwise a line ``train
    fno: 3/10 (30 %), 12 s elapsed, about 28 s left · loss 0.1`` at most every ``interval`` seconds, and one at
    the end. ``enabled=False`` shows nothing."""

    def __init__(self, description: str, total: int, *, completed: int = 0, enabled: bool = True,
                 interval: float = 10.0, terminal: bool | None = None) -> None:
        self.description, self.total, self.completed = description, total, completed
        self.enabled, self.interval = enabled, interval
        self._console = Console(stderr=True)
        self.terminal = self._console.is_terminal if terminal is None else terminal
        self._bar: Progress | None = None
        self._task: Any = None
        self._start = self._last = 0.0
        self._status = ""
        self._started_at = completed  # steps done before this run (a resumed training)

    def __enter__(self) -> ProgressReport:
        self._start = self._last = time.monotonic()
        if self.enabled and self.terminal:
            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                                 console=self._console)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total, completed=self.completed,
                                            status="")
        return self

    def advance(self, steps: int = 1, status: str = "") -> None:
        self.completed += steps
        self._status = status or self._status
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=steps, status=self._status)
        elif time.monotonic() - self._last >= self.interval:
            self._line()

    def line(self) -> str:
        """The progress as one line of text."""
        elapsed = time.monotonic() - self._start
        done = self.completed - self._started_at
        text = f"{self.description}: {self.completed}/{self.total}"
        if self.total:
            text += f" ({100 * self.completed / self.total:.0f} %)"
        text += f", {elapsed:.0f} s elapsed"
        if 0 < done and self.completed < self.total:
            text += f", about {elapsed / done * (self.total - self.completed):.0f} s left"
        return text + (f" · {self._status}" if self._status else "")

    def _line(self) -> None:
        self._last = time.monotonic()
        log_line(self.line())

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled:
            self._line()


class DaskProgress(Callback):
    """Show the tasks of every dask computation run inside ``with DaskProgress("label"):`` as a
    :class:`ProgressReport`."""

    def __init__(self, label: str, interval: float = 10.0) -> None:
        super().__init__()
        self.label, self.interval = label, interval
        self.report: ProgressReport | None = None

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self.report is not None:
            self.report.__exit__(*exc)

    def _start_state(self, dsk: Any, state: dict[str, Any]) -> None:
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        if self.report is not None:  # a second computation: the first one's report ends here
            self.report.__exit__(None, None, None)
        self.report = ProgressReport(self.label, total, interval=self.interval).__enter__()

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if self.report is not None:
            self.report.advance()
