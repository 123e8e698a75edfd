"""Fault injection for the reliability suite and ``benchmarks/reliability.py``: ``kill -9`` of a command
while it writes an output, and the check that nothing was lost."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import tree_sha256

__all__ = ["partials", "write_window", "kill_while_writing", "CrashTally", "crash_and_rerun"]


def partials(directory: Path, name: str) -> list[Path]:
    """Temporaries of ``directory/name`` that an atomic write leaves beside it while it works."""
    return list(directory.glob(f".{name}.partial-*"))


def write_window(cmd: Sequence[str], dest: Path, cwd: Path, env: Mapping[str, str],
                 until_renamed: bool = False) -> float:
    """Run ``cmd`` to the end; the seconds from its temporary's appearance beside ``dest`` to its exit (or, with
    ``until_renamed``, to the temporary's rename into place)."""
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while proc.poll() is None and not partials(dest.parent, dest.name):
        time.sleep(0.002)
    start = time.perf_counter()
    while until_renamed and proc.poll() is None and partials(dest.parent, dest.name):
        time.sleep(0.002)
    window = time.perf_counter() - start
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd}: exit {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    return window if until_renamed else time.perf_counter() - start


def kill_while_writing(cmd: Sequence[str], dest: Path, rng: np.random.Generator, cwd: Path,
                       env: Mapping[str, str], window: float, only_while_writing: bool = False) -> bool:
    """Start ``cmd``; once its temporary beside ``dest`` appears, SIGKILL it after a random part of ``window``
    seconds, with its whole process group (a ``dvc repro`` and the stage it runs). Whether the kill landed
    (False: the command had finished first; with ``only_while_writing``, or the temporary was renamed into place:
    then the command runs to its end, as DVC's in-place rewrite of ``dvc.lock`` after the stage cannot survive a
    kill)."""
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while proc.poll() is None and not partials(dest.parent, dest.name) and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0, window))
    if proc.poll() is not None:
        return False
    if only_while_writing and not partials(dest.parent, dest.name):
        proc.wait()
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


@dataclass
class CrashTally:
    kills: int = 0      # kill -9 sent
    landed: int = 0     # of those, while the output was being written
    lost: int = 0       # outputs found neither the previous one nor the whole new one
    differing: int = 0  # reruns that did not give the uninterrupted run's output bit for bit
    partials_left: int = 0  # temporaries a rerun failed to clear


def crash_and_rerun(cwd: Path, dest: Path, previous: Callable[[Path], list[str]],
                    command: Callable[[Path], list[str]], seeds: Sequence[int],
                    env: Mapping[str, str]) -> CrashTally:
    """For each seed: write ``previous(dest)``, kill ``command(dest)`` while it writes, check what is at
    ``dest``, rerun ``command(dest)`` and compare with an uninterrupted run's output."""
    reference = dest.with_name(f"reference-{dest.name}")
    window = 0.9 * write_window(command(reference), reference, cwd, env)
    expected = tree_sha256(reference)
    tally = CrashTally()
    for seed in seeds:
        subprocess.run(previous(dest), cwd=cwd, env=dict(env), check=True, capture_output=True)
        before = tree_sha256(dest)
        tally.kills += 1
        tally.landed += kill_while_writing(command(dest), dest, np.random.default_rng(seed), cwd, env, window)
        tally.lost += tree_sha256(dest) not in (before, expected)
        subprocess.run(command(dest), cwd=cwd, env=dict(env), check=True, capture_output=True)
        tally.differing += tree_sha256(dest) != expected
        tally.partials_left += len(partials(dest.parent, dest.name))
    return tally
