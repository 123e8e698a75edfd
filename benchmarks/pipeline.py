"""The default pipeline end to end, in a fresh copy of the repository.

    python benchmarks/pipeline.py

Prints the wall time of `dvc repro` from nothing, of a no-op `dvc repro` and of `dvc status` with every
artifact present, and the file count of every tracked output. Floors (issue 3): whole default pipeline under
10 minutes on 2 cores, no-op repro under 3 s, `dvc status` under 2 s, every tracked store at most ~100 files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from spectraflow.io import count_files
from spectraflow.testing.workspace import copy_workspace, isolated_env, run

REPO = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(cmd, cwd, env)
    return time.perf_counter() - start


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="sf-bench-pipeline-"))
    try:
        env = isolated_env(work / "home")
        repo = copy_workspace(REPO, work / "repo", env)
        full = timed(["dvc", "repro"], repo, env)
        noop = min(timed(["dvc", "repro"], repo, env) for _ in range(3))
        status = min(timed(["dvc", "status"], repo, env) for _ in range(3))
        stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
        outs = sorted({o["path"] for s in stages.values() for o in s.get("outs", [])})
        print(f"machine: {os.cpu_count()} cores")
        print("| measure | value | floor |")
        print("|---|---|---|")
        print(f"| whole default pipeline (dvc repro from nothing) | {full:.1f} s | < 600 s |")
        print(f"| no-op dvc repro (best of 3) | {noop:.2f} s | < 3 s |")
        print(f"| dvc status, all artifacts present (best of 3) | {status:.2f} s | < 2 s |")
        for out in outs:
            path = repo / out
            n = count_files(path) if path.is_dir() else 1
            print(f"| files in {out} | {n} | <= ~100 |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    from _results import recorded

    with recorded("pipeline"):
        main()
