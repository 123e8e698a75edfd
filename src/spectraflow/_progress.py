"""A rich progress bar fed by dask's local-scheduler callbacks."""

from __future__ import annotations

from typing import Any

from dask.callbacks import Callback
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RichDaskProgress(Callback):
    """Show the tasks of every dask computation run inside ``with RichDaskProgress("label"):``."""

    def __init__(self, label: str, transient: bool = False) -> None:
        super().__init__()
        self.label = label
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TimeRemainingColumn(), transient=transient)
        self.task: Any = None

    def __enter__(self) -> RichDaskProgress:
        self.progress.start()
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.progress.stop()

    def _start_state(self, dsk: Any, state: dict[str, Any]) -> None:
        total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
        self.task = self.progress.add_task(self.label, total=total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.progress.advance(self.task)
