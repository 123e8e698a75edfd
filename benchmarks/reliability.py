"""Reliability stress: many seeded kill -9 of ingest and preprocessing mid-write, many mutated ENVI headers,
damaged files of every reader's format, and a landing zone full of them.

Prints what was injected and what survived: kills sent and landed while writing, outputs lost (must be 0),
reruns that differ from the uninterrupted run (must be 0); headers and files tried, loaded, refused with a
spectraflow error, other exceptions (must be 0), hangs (must be 0) and the process's peak memory; for the
landing zone, good files ingested (must be all of them) beside the damaged ones. The test suite
(tests/reliability/) runs the same checks with a few seeds; this runs many. Run by hand:
``python benchmarks/reliability.py [--kills 20] [--headers 2000] [--files 300]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from spectraflow.errors import SpectraflowError
from spectraflow.io import ingest, read
from spectraflow.landing import land_file, landed_files
from spectraflow.synth import synthetic_scene, write_scene_envi
from spectraflow.testing.faults import crash_and_rerun
from spectraflow.testing.hostile import FORMATS, HostileTally, mutate, peak_rss_mb, try_reading, valid_file

ENV = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "OMP_NUM_THREADS": "1"}
PREPROCESS = """
import sys
from spectraflow.preprocess import preprocess_store, parse_steps
steps = [{"radiometric": {}}, {"bad_bands": {"header": True}}, {"normalize": {"method": sys.argv[3]}}]
preprocess_store(sys.argv[1], sys.argv[2], parse_steps(steps))
"""


def _mutate(header: str, rng: np.random.Generator) -> str:
    """A header with random lines dropped, duplicated, or given hostile values, and random characters flipped."""
    lines = header.splitlines()
    hostile = ["0", "-1", "1e400", "nan", str(10**13), "{", "{1, 2", "}", "bsq,bip", "\x00", "é" * 50, ""]
    for _ in range(rng.integers(1, 6)):
        i = int(rng.integers(1, len(lines)))
        action = rng.integers(4)
        if action == 0:
            lines.pop(i)
        elif action == 1:
            lines.insert(i, lines[i])
        elif action == 2 and "=" in lines[i]:
            lines[i] = lines[i].split("=")[0] + "= " + hostile[int(rng.integers(len(hostile)))]
        else:
            chars = list(lines[i])
            if chars:
                chars[int(rng.integers(len(chars)))] = chr(int(rng.integers(0, 0x250)))
            lines[i] = "".join(chars)
    return "\n".join(lines) + "\n"


def fuzz_headers(directory: Path, count: int) -> dict[str, int]:
    header, raw = write_scene_envi(synthetic_scene(0, height=12, width=10), directory / "fuzz")
    original = header.read_text()
    rng = np.random.default_rng(0)
    tally = {"tried": 0, "loaded": 0, "refused": 0, "other": 0}
    for _ in range(count):
        header.write_text(_mutate(original, rng), errors="surrogatepass")
        tally["tried"] += 1
        try:
            read(header, format="envi")["cube"].values  # noqa: B018
            tally["loaded"] += 1
        except SpectraflowError:
            tally["refused"] += 1
        except Exception as exc:  # noqa: BLE001 — the figure that must stay 0
            tally["other"] += 1
            print(f"  not a spectraflow error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return tally


def fuzz_files(directory: Path, count: int) -> dict[str, HostileTally]:
    """``count`` damaged files per format, each ingested (a store written when it loads)."""
    tallies = {}
    for format in FORMATS:
        tally = tallies[format] = HostileTally()
        for seed in range(count):
            case = directory / f"{format}-{seed}"
            path = valid_file(case, format, seed)
            path.write_bytes(mutate(path.read_bytes(), np.random.default_rng(seed)))
            try_reading(lambda p=path, c=case: ingest(p, c / "out.zarr"), tally, f"{format} seed {seed}")
            shutil.rmtree(case)
    return tallies


def fuzz_landing(directory: Path, count: int) -> dict[str, int]:
    """A zone holding ``count`` damaged files of every format among good ones: each good file must land."""
    zone, stores = directory / "landing", directory / "stores"
    rng = np.random.default_rng(1)
    good = []
    for i in range(count):
        format = FORMATS[i % len(FORMATS)]
        path = valid_file(directory / "src" / str(i), format, i)
        for part in path.parent.iterdir():  # ENVI: header and raw file
            target = zone / f"{i:04d}-{part.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            damaged = i % 3 != 0
            data = part.read_bytes()
            target.write_bytes(mutate(data, rng) if damaged and part == path else data)
            if not damaged and part == path:
                good.append(target.name)
    past = time.time() - 60
    for path in zone.iterdir():
        os.utime(path, (past, past))
    tally = {"files": 0, "ingested": 0, "known": 0, "rejected": 0, "waiting": 0, "other": 0}
    landed = {}
    for path in landed_files(zone):
        tally["files"] += 1
        try:
            outcome = land_file(path, stores)
            tally[outcome.status] += 1
            landed[path.name] = outcome.status
        except Exception as exc:  # noqa: BLE001 — the figure that must stay 0
            tally["other"] += 1
            print(f"  landing: {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    tally["good lost"] = sum(landed.get(name) not in ("ingested", "known") for name in good)
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="seeded kills per stage")
    parser.add_argument("--headers", type=int, default=2000, help="mutated ENVI headers")
    parser.add_argument("--files", type=int, default=300, help="damaged files per format (and in the landing zone)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_scene_envi(synthetic_scene(0, height=128, width=128), root / "data/raw")
        cli = [sys.executable, "-m", "spectraflow.cli", "ingest", "data/raw/scene.hdr", "--out"]
        rows = []
        start = time.perf_counter()
        ingest = crash_and_rerun(root, root / "data/scene.zarr", lambda d: [*cli, str(d), "--compressor", "lz4"],
                                 lambda d: [*cli, str(d)], range(args.kills), ENV)
        rows.append(("ingest", ingest))
        code = [sys.executable, "-c", PREPROCESS, str(root / "data/scene.zarr")]
        pre = crash_and_rerun(root, root / "data/pre.zarr", lambda d: [*code, str(d), "standard"],
                              lambda d: [*code, str(d), "minmax"], range(args.kills), ENV)
        rows.append(("preprocess", pre))
        crash_seconds = time.perf_counter() - start
        fuzz = fuzz_headers(root, args.headers)
        start = time.perf_counter()
        files = fuzz_files(root / "files", args.files)
        landing = fuzz_landing(root / "zone", args.files)
        file_seconds = time.perf_counter() - start
    print(f"## kill -9 while writing ({crash_seconds:.0f} s)")
    print("| stage | kills | landed mid-write | outputs lost | reruns differing | partials left |")
    print("|---|---|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t.kills} | {t.landed} | {t.lost} | {t.differing} | {t.partials_left} |")
    print("\n## mutated ENVI headers")
    print("| tried | loaded | refused with a spectraflow error | other exceptions |")
    print("|---|---|---|---|")
    print(f"| {fuzz['tried']} | {fuzz['loaded']} | {fuzz['refused']} | {fuzz['other']} |")
    print(f"\n## damaged files of every reader, ingested ({file_seconds:.0f} s with the landing zone)")
    print("| format | tried | loaded | refused with a spectraflow error | other exceptions | hangs |")
    print("|---|---|---|---|---|---|")
    for format, t in files.items():
        print(f"| {format} | {t.tried} | {t.loaded} | {t.refused} | {t.other} | {t.hangs} |")
    for t in files.values():
        for example in t.examples:
            print(f"  {example}", file=sys.stderr)
    print("\n## a landing zone of damaged and good files")
    print("| " + " | ".join(landing) + " |")
    print("|" + "---|" * len(landing))
    print("| " + " | ".join(str(v) for v in landing.values()) + " |")
    lost = sum(t.lost for _, t in rows) + landing["good lost"]
    other = fuzz["other"] + sum(t.other for t in files.values()) + landing["other"]
    hangs = sum(t.hangs for t in files.values())
    print(f"\ndata lost: {lost} (must be 0); other exceptions: {other} (must be 0); hangs: {hangs} (must be 0); "
          f"peak memory of this process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    from _results import recorded

    with recorded("reliability"):
        main()
