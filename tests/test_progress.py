"""Long work shows progress in a log too (no terminal): periodic lines, then one at the end."""

from __future__ import annotations

import sys

import dask.array as da
import pytest

from spectraflow._progress import DaskProgress, ProgressReport, log_line


def test_lines_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressReport("train fno", 4, terminal=False, interval=0.0) as progress:
        for epoch in range(4):
            progress.advance(status=f"loss {1 / (epoch + 1):.2f}")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("train fno: 1/4 (25 %), ") and "s left" in lines[0] and lines[0].endswith("loss 1.00")
    assert lines[-2] == lines[-1] and lines[-1].startswith("train fno: 4/4 (100 %)") and "left" not in lines[-1]
    assert len(lines) == 5  # one per step, one at the end


def test_interval_limits_the_lines_and_disabled_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressReport("slow", 1000, terminal=False, interval=3600) as progress:
        for _ in range(1000):
            progress.advance()
    assert capsys.readouterr().err.splitlines() == [progress.line()]  # only the final line
    with ProgressReport("quiet", 3, terminal=False, interval=0.0, enabled=False) as progress:
        progress.advance()
    assert capsys.readouterr().err == ""


def test_dask_computation_reports_its_tasks(capsys: pytest.CaptureFixture[str]) -> None:
    with DaskProgress("sum", interval=3600):
        total = da.ones((100, 100), chunks=10).sum().compute(scheduler="sync")
    assert total == 10_000
    (line,) = capsys.readouterr().err.splitlines()
    done, of = line.split(": ", 1)[1].split(" ", 1)[0].split("/")
    assert line.startswith("sum: ") and done == of and int(of) > 100  # every task of the graph counted


def test_lines_without_prefect_installed(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("prefect", "prefect.exceptions", "prefect.logging"):  # None in sys.modules: the import fails
        monkeypatch.setitem(sys.modules, name, None)
    log_line("no orchestration layer here")
    assert capsys.readouterr().err == "no orchestration layer here\n"
