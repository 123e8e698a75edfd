"""Keeping what a benchmark printed: ``benchmarks/results/<name>.md``, under the command, date and machine.

The pipeline's report (``spectraflow report``) shows these tables next to the run's own metrics, so the
peers' numbers it cites are the ones measured here, with the command that measured them.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import shlex
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


@contextlib.contextmanager
def recorded(name: str) -> Iterator[None]:
    """Print as usual; when the block completes, keep the output in ``results/<name>.md`` (atomically)."""
    captured = io.StringIO()
    stdout = sys.stdout
    sys.stdout = _Tee(stdout, captured)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = stdout
    command = "python " + shlex.join([os.path.relpath(sys.argv[0], RESULTS.parent.parent), *sys.argv[1:]])
    torch = sys.modules.get("torch")  # the accelerator, where the benchmark used torch and one was there
    accelerator = f", {torch.cuda.get_device_name()}" if torch is not None and torch.cuda.is_available() else ""
    header = (f"<!-- written by benchmarks/_results.py: do not edit by hand -->\n"
              f"command: `{command}`  \n"
              f"measured: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs{accelerator}, "
              f"{platform.machine()}, Python {platform.python_version()}\n\n")
    RESULTS.mkdir(exist_ok=True)
    tmp = RESULTS / f".{name}.md.partial"
    tmp.write_text(header + captured.getvalue())
    tmp.replace(RESULTS / f"{name}.md")
