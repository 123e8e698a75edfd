"""Reliability stress: many seeded kill -9 of ingest and preprocessing mid-write, and many mutated ENVI headers.

Prints what was injected and what survived: kills sent and landed while writing, outputs lost (must be 0),
reruns that differ from the uninterrupted run (must be 0); headers tried, loaded, refused with a spectraflow
error, and other exceptions (must be 0). The test suite (tests/reliability/) runs the same checks with a few
seeds; this runs many. Run by hand: ``python benchmarks/reliability.py [--kills 20] [--headers 2000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from spectraflow.errors import SpectraflowError
from spectraflow.io import read
from spectraflow.synth import synthetic_scene, write_scene_envi
from spectraflow.testing.faults import crash_and_rerun

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="seeded kills per stage")
    parser.add_argument("--headers", type=int, default=2000, help="mutated ENVI headers")
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
    print(f"## kill -9 while writing ({crash_seconds:.0f} s)")
    print("| stage | kills | landed mid-write | outputs lost | reruns differing | partials left |")
    print("|---|---|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t.kills} | {t.landed} | {t.lost} | {t.differing} | {t.partials_left} |")
    print("\n## mutated ENVI headers")
    print("| tried | loaded | refused with a spectraflow error | other exceptions |")
    print("|---|---|---|---|")
    print(f"| {fuzz['tried']} | {fuzz['loaded']} | {fuzz['refused']} | {fuzz['other']} |")
    lost = sum(t.lost for _, t in rows)
    print(f"\ndata lost: {lost} (must be 0); other exceptions: {fuzz['other']} (must be 0)")


if __name__ == "__main__":
    from _results import recorded

    with recorded("reliability"):
        main()
