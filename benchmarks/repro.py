"""A bare ``dvc repro`` of the default collection from nothing: every stage command cold against warm.

    python benchmarks/repro.py [--rounds 1]

Each round, in two fresh copies of the repository (each its own Prefect home, so each starts its own stage
server): ``dvc repro`` with ``SPECTRAFLOW_WARM=0`` (every stage a fresh interpreter that imports Prefect, torch,
dask, ... itself) and with the default (stages forked from the warm server, flows/_warm.py; the first runs cold
while the server starts). Per stage, the seconds from its "Running stage" line to the next (the last stage: to
the exit), so each stage's time includes DVC's own work on it; the two runs' outputs are compared, byte for byte.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from spectraflow.io import tree_sha256
from spectraflow.testing.workspace import copy_workspace, isolated_env

REPO = Path(__file__).resolve().parents[1]
#: stage names by kind, for the table (a per-scene stage is "<kind>@<scene>")
KINDS = ("synth", "configure", "ingest", "preprocess", "unmix", "train_unmix", "anomaly", "fuse", "train_denoise",
         "denoise", "operator_data", "train_operator", "report")


def timed_repro(base: Path, warm: bool) -> tuple[float, dict[str, float], Path]:
    """A fresh copy of the repository reproduced: the wall time, each stage's seconds, the copy."""
    env = isolated_env(base / "home")
    env["SPECTRAFLOW_WARM"] = "1" if warm else "0"
    dest = copy_workspace(REPO, base / "repo", env)
    starts: list[tuple[float, str]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(["dvc", "repro"], cwd=dest, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        tail = [*tail[-40:], line]
        if line.startswith("Running stage '"):
            starts.append((time.perf_counter() - start, line.split("'")[1]))
    if proc.wait() != 0:
        raise RuntimeError("dvc repro failed:\n" + "".join(tail))
    wall = time.perf_counter() - start
    ends = [t for t, _ in starts[1:]] + [wall]
    return wall, {name: end - t for (t, name), end in zip(starts, ends, strict=True)}, dest


def span(values: list[float]) -> str:
    return f"{min(values):.1f}–{max(values):.1f} s" if len(values) > 1 else f"{values[0]:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sf-bench-repro-"))
    walls: dict[bool, list[float]] = {False: [], True: []}
    stages: dict[bool, dict[str, list[float]]] = {False: {}, True: {}}
    try:
        print(f"machine: {os.cpu_count()} cores; the default collection (params.yaml), `dvc repro` from nothing")
        for round_ in range(args.rounds):
            copies = {}
            for warm in (False, True):
                wall, times, copies[warm] = timed_repro(base / f"{round_}-{warm}", warm)
                walls[warm].append(wall)
                for name, seconds in times.items():
                    stages[warm].setdefault(name.partition("@")[0], []).append(seconds)
            same = all(tree_sha256(copies[False] / "data" / kind) == tree_sha256(copies[True] / "data" / kind)
                       for kind in ("raw", "stores"))
            print(f"round {round_}: cold {walls[False][-1]:.0f} s, warm {walls[True][-1]:.0f} s; raw files and "
                  f"stores byte-identical: {same}", flush=True)
            for warm in (False, True):
                shutil.rmtree(base / f"{round_}-{warm}", ignore_errors=True)
        print()
        print("| stage | stages | cold (SPECTRAFLOW_WARM=0) | warm (default) | cold / warm (means) |")
        print("|---|---|---|---|---|")
        for kind in KINDS:
            cold, warm = stages[False].get(kind), stages[True].get(kind)
            if cold and warm:
                print(f"| {kind} | {len(cold) // args.rounds} | {span(cold)} | {span(warm)} | "
                      f"{statistics.fmean(cold) / statistics.fmean(warm):.2f}x |")
        cold_wall, warm_wall = statistics.fmean(walls[False]), statistics.fmean(walls[True])
        print(f"| whole `dvc repro` | {sum(len(v) for v in stages[True].values()) // args.rounds} | "
              f"{cold_wall:.0f} s | {warm_wall:.0f} s | {cold_wall / warm_wall:.2f}x |")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    from _results import recorded

    with recorded("repro"):
        main()
