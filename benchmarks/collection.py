"""Generated collections of N scenes (128 x 128 x 224 by default) through the pipeline flow, on a real Prefect server.

    python benchmarks/collection.py [--scenes 1 10 50] [--speedup 4] [--size 128]

For each N, in a fresh copy of the repository whose params.yaml declares N AVIRIS-like scenes (seeds 0..N-1,
the default stages and methods, the first scene the one the learned models train on, ``collection.parallel:
2``): the wall time of the pipeline flow from nothing, then of a no-op ``dvc repro`` and of ``dvc status`` (best
of 3 each). Per scene, each stage's time as the pipeline saw it (the ``pipeline-stages`` table) beside the time its
own flow run spent working (its ``total_run_time`` on the server); the difference is the orchestration overhead,
split into DVC's check, DVC's record and the rest (the stage process's start, Prefect's bookkeeping of its flow
run, its exit).

``--speedup K`` compares the scenes' stages run one at a time and two at a time: a collection of K + 1 scenes whose
first scene and the stages run once (training, operators) are reproduced beforehand, then the pipeline flow timed
on the K others (their five stages each, and the report) with ``collection.parallel: 1`` and with ``2``, in two
copies of that workspace. Twice: with the default ``compute.threads: null`` (a stage computes on every core when
it runs alone, on half of them when two run: the serial run is not single-threaded) and with ``compute.threads:
1`` (one thread per stage either way: what running scenes side by side gains by itself). Each as the pipeline's
wall time and as the span of the scenes' stages (first start to last end: the part that runs scenes side by side,
without the pipeline process's start and the report after them, which run once either way).
``--size S`` generates scenes of S x S pixels instead: the overhead is about constant per stage, its share of a
scene's compute falls as the scene grows. Recorded in ``results/collection.md``; ``collection-S.md`` for another
size, ``collection-speedup.md`` for a run of the speed-up alone (``--scenes`` with no number).
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

from spectraflow.collection import PER_SCENE_STAGES
from spectraflow.testing.workspace import api_post, artifact_rows, copy_workspace, isolated_env, prefect_server, run

REPO = Path(__file__).resolve().parents[1]
SCENE = {"sensor": "aviris",
         "endmembers": ["vegetation", "soil", "water", "asphalt", "kaolinite"]}
#: The stages run once per collection, beside the report
ONCE = ("train_denoise", "train_operator")


def declare(repo: Path, env: dict[str, str], scenes: int, parallel: int, size: int,
            threads: int | None = None) -> list[str]:
    """Make ``repo``'s params.yaml declare ``scenes`` generated scenes of ``size`` x ``size`` pixels (the first one
    the models' training scene, no companion images); their names."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    names = [f"s{i:02d}" for i in range(scenes)]  # each scene its own copy of SCENE: params.yaml takes no aliases
    params["synth"]["scenes"] = {name: {"seed": i, "height": size, "width": size, **copy.deepcopy(SCENE)}
                                 for i, name in enumerate(names)}
    params["collection"]["scenes"] = {name: {"source_dir": f"data/raw/{name}", "source": "scene.hdr",
                                             "ground_truth": "scene_groundtruth.nc",
                                             "unmix": {"n_endmembers": len(SCENE["endmembers"])}} for name in names}
    params["collection"]["parallel"] = parallel
    params["compute"]["threads"] = threads
    params["train_denoise"]["scene"] = names[0]
    params["train_unmix"]["scenes"] = [names[0]]
    params["fuse"]["companions"] = {}
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", f"{scenes} scenes"], repo, env)
    return names


def set_parallel(repo: Path, parallel: int) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["collection"]["parallel"] = parallel
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _all(url: str, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = api_post(url, path, {"limit": 200, "offset": len(rows)})
        rows += page
        if len(page) < 200:
            return rows


#: A stage's times (seconds): as the pipeline saw it, of them DVC's check and DVC's record, the
#: working time of the stage's flow run (the child of its task run), and the task run's time before that flow run
#: began running and after it ended (from the server's start and end times)
PARTS = ("seen", "check", "record", "working", "before", "after")


def _seconds(later: str, earlier: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def stage_times(url: str) -> dict[str, dict[str, float]]:
    """Each stage that ran in the latest pipeline run, by its task run's name (``denoise s03``): its :data:`PARTS`."""
    rows = {(r["stage"], r["scene"]): r for r in artifact_rows(url, "pipeline-stages") if r["status"] == "ran"}
    tasks = {r["id"]: r for r in _all(url, "/task_runs/filter")}
    children = {tasks[r["parent_task_run_id"]]["name"]: (tasks[r["parent_task_run_id"]], r)
                for r in _all(url, "/flow_runs/filter")
                if r["parent_task_run_id"] in tasks and r["state_type"] == "COMPLETED"}
    nan = float("nan")
    times = {}
    for (stage, scene), row in rows.items():
        name = f"{stage} {scene}" if scene != "—" else stage
        task, child = children.get(name, (None, None))
        times[name] = {"seen": float(row["seconds"]), "check": float(row["dvc check s"]),
                       "record": float(row["dvc record s"]),
                       "working": float(child["total_run_time"]) if child else nan,
                       "before": _seconds(child["start_time"], task["start_time"]) if child else nan,
                       "after": _seconds(task["end_time"], child["end_time"]) if child else nan}
    return times


def pipeline(repo: Path, env: dict[str, str], url: str) -> float:
    start = time.perf_counter()
    run([sys.executable, "-m", "flows.pipeline"], repo, {**env, "PREFECT_API_URL": url}, timeout=4 * 3600)
    return time.perf_counter() - start


def best_of(cmd: list[str], repo: Path, env: dict[str, str], times: int = 3) -> float:
    walls = []
    for _ in range(times):
        start = time.perf_counter()
        run(cmd, repo, env)
        walls.append(time.perf_counter() - start)
    return min(walls)


def collection(work: Path, scenes: int, parallel: int, size: int) -> dict[str, Any]:
    # the server logs the database errors it answers 503 for (kept with --logs)
    env = isolated_env(work / "home") | {"PREFECT_SERVER_LOG_RETRYABLE_ERRORS": "true"}
    repo = copy_workspace(REPO, work / "repo", env)
    names = declare(repo, env, scenes, parallel, size)
    with prefect_server(env, work / "server") as url:
        wall = pipeline(repo, env, url)
        times = stage_times(url)
    per_scene = [[times[f"{stage} {name}"] for stage in PER_SCENE_STAGES] for name in names]
    return {"wall": wall, "times": times,
            "scene_seen": [sum(t["seen"] for t in stages) for stages in per_scene],
            "scene_working": [sum(t["working"] for t in stages) for stages in per_scene],
            "noop_repro": best_of(["dvc", "repro"], repo, env), "status": best_of(["dvc", "status"], repo, env)}


def scenes_span(url: str) -> float:
    """Seconds from the first per-scene stage's start to the last one's end in the latest pipeline run (its task
    runs on the server): the scenes' part of the run, without the pipeline process's start, the report and the
    artifacts that follow."""
    tasks = [r for r in _all(url, "/task_runs/filter") if r["name"].split(" ")[0] in PER_SCENE_STAGES]
    return _seconds(max(r["end_time"] for r in tasks), min(r["start_time"] for r in tasks))


def speedup(work: Path, scenes: int, size: int, threads: int | None) -> list[tuple[float, float]]:
    """The pipeline's wall time on ``scenes`` scenes' stages and the span of those stages (:func:`scenes_span`),
    one at a time and two at a time (see the module)."""
    env = isolated_env(work / "home")
    prepared = copy_workspace(REPO, work / "prepared", env)
    first, *_ = declare(prepared, env, scenes + 1, parallel=1, size=size, threads=threads)
    once = [f"{stage}@{first}" for stage in PER_SCENE_STAGES] + [f"train_unmix@{first}", *ONCE]
    run(["dvc", "repro", *once], prepared, env)
    walls = []
    for parallel in (1, 2):
        repo = work / f"parallel-{parallel}"
        shutil.copytree(prepared, repo, symlinks=True)
        set_parallel(repo, parallel)
        with prefect_server(env, work / f"server-{parallel}") as url:
            walls.append((pipeline(repo, env, url), scenes_span(url)))
            ran = [r for r in artifact_rows(url, "pipeline-stages") if r["status"] == "ran"]
        assert len(ran) == scenes * len(PER_SCENE_STAGES) + 1, [(r["stage"], r["scene"]) for r in ran]
        shutil.rmtree(repo, ignore_errors=True)
    return walls


def mean_std(values: list[float]) -> str:
    """``mean ± std`` of ``values``; the value alone when there is one."""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values):.1f}"


#: the columns of the stage tables: label and the value of a stage's :data:`PARTS`
STAGE_COLUMNS = {"seen": lambda t: t["seen"], "working": lambda t: t["working"],
                 "overhead": lambda t: t["seen"] - t["working"],
                 "task run start → flow run running": lambda t: t["before"], "of it: dvc check": lambda t: t["check"],
                 "flow run end → task run end": lambda t: t["after"], "of it: dvc record": lambda t: t["record"]}


def print_stage_table(groups: dict[str, list[dict[str, float]]]) -> None:
    print("| stage | " + " | ".join(STAGE_COLUMNS) + " |")
    print("|---" * (len(STAGE_COLUMNS) + 1) + "|")
    for label, rows in groups.items():
        print(f"| {label} | " + " | ".join(mean_std([column(t) for t in rows]) for column in STAGE_COLUMNS.values())
              + " |")


def print_stages(times: dict[str, dict[str, float]], scenes: int) -> None:
    print(f"per stage, {scenes} scenes (seconds; per-scene stages: mean ± std over scenes): as the pipeline saw it, "
          "its flow run's working time, and the overhead (the difference), split into the task run's time before its "
          "stage's flow run runs (DVC's check, the flow run's creation, the hand-off to the stage's process, the "
          "flow run's start) and after it ends (its process's exit, DVC's record)")
    print()
    groups = {stage: [t for k, t in times.items() if k.split(" ")[0] == stage] for stage in PER_SCENE_STAGES}
    groups = {stage: rows for stage, rows in groups.items() if rows}
    groups |= {f"{k} (once)": [t] for k, t in times.items() if k.split(" ")[0] not in PER_SCENE_STAGES}
    print_stage_table(groups)
    print()
    print("the five stages with the most overhead (seconds):")
    print()
    worst = sorted(times.items(), key=lambda item: item[1]["working"] - item[1]["seen"])[:5]
    print_stage_table({name: [t] for name, t in worst})


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, nargs="*", default=[1, 10, 50])
    parser.add_argument("--logs", type=Path, help="keep each collection run's Prefect server log in this directory")
    parser.add_argument("--speedup", type=int, default=4,
                        help="scenes of the serial / 2-concurrent comparison (0: none)")
    parser.add_argument("--size", type=int, default=128, help="the scenes' height and width, pixels")
    return parser.parse_args()


def results_name(args: argparse.Namespace) -> str:
    """``collection``, ``-speedup`` when only the speed-up is measured, ``-<size>`` for other than 128 pixels."""
    return "collection" + ("" if args.scenes else "-speedup") + ("" if args.size == 128 else f"-{args.size}")


def main(args: argparse.Namespace) -> None:
    base = Path(tempfile.mkdtemp(prefix="sf-bench-collection-"))
    try:
        print(f"machine: {os.cpu_count()} cores; scenes of {args.size} x {args.size} x 224 "
              f"({SCENE['sensor']}), the default stages and methods; pipeline flow on a Prefect server")
        print()
        if args.scenes:
            print("| scenes | pipeline wall (parallel 2) | per scene: stage time seen by the pipeline | per scene: "
                  "its flow runs' working time | overhead per scene | overhead / working | no-op dvc repro | "
                  "dvc status |")
            print("|---|---|---|---|---|---|---|---|")
        largest: dict[str, Any] = {}
        for n in args.scenes:
            r = collection(base / f"n{n}", n, parallel=2, size=args.size)
            overhead = [seen - working for seen, working in zip(r["scene_seen"], r["scene_working"], strict=True)]
            ratio = statistics.fmean(overhead) / statistics.fmean(r["scene_working"])
            print(f"| {n} | {r['wall']:.0f} s | {mean_std(r['scene_seen'])} s | {mean_std(r['scene_working'])} s | "
                  f"{mean_std(overhead)} s | {100 * ratio:.0f} % (floor <= 10 %) | {r['noop_repro']:.1f} s"
                  f"{' (floor <= 20 s)' if n >= 50 else ''} | {r['status']:.1f} s |", flush=True)
            largest = r | {"scenes": n}
            if args.logs:
                args.logs.mkdir(parents=True, exist_ok=True)
                shutil.copy2(base / f"n{n}/server/server.log", args.logs / f"server-{n}-scenes.log")
            shutil.rmtree(base / f"n{n}", ignore_errors=True)
        if largest:
            print()
            print_stages(largest["times"], largest["scenes"])
        k = args.speedup
        if k < 2:
            return
        print()
        print(f"{k} scenes' stages (five each) and the report, the training scene and the stages run once "
              "reproduced beforehand:")
        print()
        print("| compute.threads | measured | serial (collection.parallel: 1) | two at a time (parallel: 2) | "
              "speed-up | floor |")
        print("|---|---|---|---|---|---|")
        for threads in (None, 1):
            (serial, serial_span), (concurrent, concurrent_span) = speedup(base / f"speedup-{threads}", k,
                                                                          args.size, threads)
            label = "null (default: the cores shared among the stages running)" if threads is None else str(threads)
            for measured, a, b in (("pipeline wall", serial, concurrent),
                                   ("the scenes' stages (first start → last end)", serial_span, concurrent_span)):
                print(f"| {label} | {measured} | {a:.0f} s | {b:.0f} s | {a / b:.2f}x | >= 1.6x |", flush=True)
            shutil.rmtree(base / f"speedup-{threads}", ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    from _results import recorded

    parsed = arguments()
    with recorded(results_name(parsed)):
        main(parsed)
