"""What a stage process forked from the warm server (flows/_warm.py) pays for a full garbage collection, with the
server's objects left to the collector and frozen out of it (``gc.freeze``, what the server does).

In one process that imports what the warm server imports (``flows._warm._preload``), each case forks ``--forks``
children that each run one full collection (``gc.collect()``) and report its seconds; the whole fork's seconds
(fork, collection, exit) are timed by the parent. Stage processes run such collections by themselves, which this
script does not show: counted once with ``gc.callbacks`` added by hand to the stage processes of two runs of
``benchmarks/collection.py --scenes 2 --speedup 0`` (that instrumentation was not kept), 10 of 14 stage processes
ran one or two full collections without the freeze (0.3-0.75 s each), 3 of 16 with it (0.05-0.19 s in all).

    python benchmarks/warm_fork.py [--forks 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import struct
import sys
import time
from pathlib import Path

from _results import recorded

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # flows, tasks


def _forked_collection() -> tuple[float, float]:
    """Seconds of one full collection in a forked child, and of the whole fork (as the parent waited for it)."""
    read, write = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        tic = time.perf_counter()
        gc.collect()
        os.write(write, struct.pack("d", time.perf_counter() - tic))
        os._exit(0)
    os.waitpid(pid, 0)
    whole = time.perf_counter() - start
    collection = struct.unpack("d", os.read(read, 8))[0]
    os.close(read)
    os.close(write)
    return collection, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--forks", type=int, default=5)
    forks = parser.parse_args().forks
    from flows._warm import _preload

    _preload()
    gc.collect()
    rows = []
    for case in ("left to the collector", "frozen (gc.freeze)"):
        if case.startswith("frozen"):
            gc.freeze()
        runs = [_forked_collection() for _ in range(forks)]
        rows.append((case, gc.get_freeze_count(), [r[0] for r in runs], [r[1] for r in runs]))
    reference = statistics.mean(rows[0][3])
    print(f"server objects tracked by the collector after the imports: {len(gc.get_objects()) + gc.get_freeze_count()}"
          f"; {forks} forks per case, mean ± std\n")
    print("| the server's objects | frozen | full collection in the child, s | whole fork, s | whole fork / unfrozen |")
    print("|---|---|---|---|---|")
    for case, frozen, collections, wholes in rows:
        print(f"| {case} | {frozen} | {statistics.mean(collections):.3f} ± {statistics.stdev(collections):.3f} | "
              f"{statistics.mean(wholes):.3f} ± {statistics.stdev(wholes):.3f} | "
              f"{statistics.mean(wholes) / reference:.2f}x |")


if __name__ == "__main__":
    with recorded("warm_fork"):
        main()
