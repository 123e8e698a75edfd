"""Generated collections of N scenes (128 x 128 x 224) through the pipeline flow, on a real Prefect server.

    python benchmarks/collection.py [--scenes 1 10 50] [--speedup 4]

For each N, in a fresh copy of the repository whose params.yaml declares N AVIRIS-like scenes (seeds 0..N-1,
the default stages and methods, ``collection.parallel: 2``): the wall time of the pipeline flow from nothing,
then of a no-op ``dvc repro`` and of ``dvc status`` (best of 3 each). Per scene, each stage's time as the
pipeline saw it (DVC's check, the stage's command, DVC's record: the ``pipeline-stages`` table) beside the
time its own flow run spent working (its ``total_run_time`` on the server); the difference is the
orchestration overhead (the stage process's start and imports, Prefect's and DVC's bookkeeping).
``--speedup K`` runs a collection of K scenes once serially (``parallel: 1``) and once two at a time.
Floors (issue 19): overhead per scene <= 10 % of its compute, no-op ``dvc repro`` on 50 scenes <= 20 s,
speed-up of 2 concurrent scenes over serial >= 1.6x.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from spectraflow.testing.workspace import api_post, artifact_rows, copy_workspace, isolated_env, prefect_server, run

REPO = Path(__file__).resolve().parents[1]
SCENE = {"height": 128, "width": 128, "sensor": "aviris",
         "endmembers": ["vegetation", "soil", "water", "asphalt", "kaolinite"]}
PER_SCENE = ("ingest", "preprocess", "denoise", "unmix")


def declare(repo: Path, env: dict[str, str], scenes: int, parallel: int) -> list[str]:
    """Make ``repo``'s params.yaml declare ``scenes`` generated scenes; their names."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    names = [f"s{i:02d}" for i in range(scenes)]  # each scene its own copy of SCENE: params.yaml takes no aliases
    params["synth"]["scenes"] = {name: {"seed": i, **copy.deepcopy(SCENE)} for i, name in enumerate(names)}
    params["collection"]["scenes"] = {name: {"source_dir": f"data/raw/{name}", "source": "scene.hdr",
                                             "ground_truth": "scene_groundtruth.nc"} for name in names}
    params["collection"]["parallel"] = parallel
    params["train_denoise"]["scene"] = names[0]
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", f"{scenes} scenes"], repo, env)
    return names


def _all(url: str, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = api_post(url, path, {"limit": 200, "offset": len(rows)})
        rows += page
        if len(page) < 200:
            return rows


def stage_times(url: str) -> dict[str, tuple[float, float]]:
    """Each stage that ran in the latest pipeline run, by its task run's name (``denoise s03``): (seconds as the
    pipeline saw it, the working seconds of the stage's flow run, the child of that task run)."""
    seen = {(r["stage"], r["scene"]): float(r["seconds"]) for r in artifact_rows(url, "pipeline-stages")
            if r["status"] == "ran"}
    tasks = {r["id"]: r["name"] for r in _all(url, "/task_runs/filter")}
    working = {tasks[r["parent_task_run_id"]]: float(r["total_run_time"]) for r in _all(url, "/flow_runs/filter")
               if r["parent_task_run_id"] in tasks and r["state_type"] == "COMPLETED"}
    names = {(stage, scene): f"{stage} {scene}" if scene != "—" else stage for stage, scene in seen}
    return {name: (seen[key], working.get(name, float("nan"))) for key, name in names.items()}


def pipeline(repo: Path, env: dict[str, str], url: str) -> float:
    start = time.perf_counter()
    run([sys.executable, "-m", "flows.pipeline"], repo, {**env, "PREFECT_API_URL": url})
    return time.perf_counter() - start


def best_of(cmd: list[str], repo: Path, env: dict[str, str], times: int = 3) -> float:
    walls = []
    for _ in range(times):
        start = time.perf_counter()
        run(cmd, repo, env)
        walls.append(time.perf_counter() - start)
    return min(walls)


def collection(work: Path, scenes: int, parallel: int) -> dict[str, Any]:
    env = isolated_env(work / "home")
    repo = copy_workspace(REPO, work / "repo", env)
    names = declare(repo, env, scenes, parallel)
    with prefect_server(env, work / "server") as url:
        wall = pipeline(repo, env, url)
        times = stage_times(url)
    result: dict[str, Any] = {"wall": wall, "times": times}
    per_scene = [[times[f"{stage} {name}"] for stage in PER_SCENE] for name in names]
    result["scene_seen"] = [sum(seen for seen, _ in stages) for stages in per_scene]
    result["scene_working"] = [sum(working for _, working in stages) for stages in per_scene]
    result["noop_repro"] = best_of(["dvc", "repro"], repo, env)
    result["status"] = best_of(["dvc", "status"], repo, env)
    return result


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.1f} ± {spread:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--speedup", type=int, default=4,
                        help="scenes of the serial / 2-concurrent comparison (0: none)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="sf-bench-collection-"))
    try:
        print(f"machine: {os.cpu_count()} cores; scenes of {SCENE['height']} x {SCENE['width']} x 224 "
              f"({SCENE['sensor']}), the default stages and methods; pipeline flow on a Prefect server")
        print()
        print("| scenes | pipeline wall (parallel 2) | per scene: stage time seen by the pipeline | per scene: "
              "its flow runs' working time | overhead per scene | overhead / working | no-op dvc repro | "
              "dvc status |")
        print("|---|---|---|---|---|---|---|---|")
        for n in args.scenes:
            r = collection(base / f"n{n}", n, parallel=2)
            overhead = [seen - working for seen, working in zip(r["scene_seen"], r["scene_working"], strict=True)]
            ratio = statistics.fmean(overhead) / statistics.fmean(r["scene_working"])
            print(f"| {n} | {r['wall']:.0f} s | {mean_std(r['scene_seen'])} s | {mean_std(r['scene_working'])} s | "
                  f"{mean_std(overhead)} s | {100 * ratio:.0f} % (floor <= 10 %) | {r['noop_repro']:.1f} s"
                  f"{' (floor <= 20 s)' if n >= 50 else ''} | {r['status']:.1f} s |", flush=True)
            if n == max(args.scenes):
                print()
                print(f"per stage, {n} scenes (mean ± std over scenes; seconds): seen by the pipeline / working")
                print()
                print("| stage | seen | working | overhead |")
                print("|---|---|---|---|")
                for stage in PER_SCENE:
                    pairs = [v for k, v in r["times"].items() if k.split(" ")[0] == stage]
                    print(f"| {stage} | {mean_std([p[0] for p in pairs])} | {mean_std([p[1] for p in pairs])} | "
                          f"{mean_std([p[0] - p[1] for p in pairs])} |")
                for key, (seen, working) in r["times"].items():
                    if key.split(" ")[0] not in PER_SCENE:
                        print(f"| {key} (once) | {seen:.1f} | {working:.1f} | {seen - working:.1f} |")
            shutil.rmtree(base / f"n{n}", ignore_errors=True)
        k = args.speedup
        if k < 2:
            return
        print()
        serial = collection(base / "serial", k, parallel=1)
        shutil.rmtree(base / "serial", ignore_errors=True)
        concurrent = collection(base / "concurrent", k, parallel=2)
        print(f"| {k} scenes | pipeline wall | speed-up | floor |")
        print("|---|---|---|---|")
        print(f"| serial (collection.parallel: 1) | {serial['wall']:.0f} s | 1.00x | |")
        print(f"| two at a time (collection.parallel: 2) | {concurrent['wall']:.0f} s | "
              f"{serial['wall'] / concurrent['wall']:.2f}x | >= 1.6x |")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    from _results import recorded

    with recorded("collection"):
        main()
