"""Concurrent writes to the Prefect API: Prefect's own server (``prefect server start``) beside ``spectraflow
server`` (its SQLite write transactions begun IMMEDIATE; src/spectraflow/prefect_server.py), both on SQLite.

Six threads write as a pipeline's concurrent stages do (each round: a flow, a flow run of it, the run moved to
Running, a log line; no retries, so a 503 is counted where Prefect's client would wait 2, 4, 8.. s and retry;
a round whose flow or flow run is refused sends nothing more, so fewer requests are answered), on a fresh server
each time; mean ± std over the repeats of the wall time and of the answers by status.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from collection import mean_std
from spectraflow.testing.workspace import concurrent_writes, isolated_env, prefect_server


def burst(stock: bool, rounds: int) -> tuple[float, dict[int, int]]:
    with tempfile.TemporaryDirectory(prefix="sf-bench-server-") as tmp:
        home = Path(tmp)
        with prefect_server(isolated_env(home), home / "server", stock=stock) as url:
            start = time.perf_counter()
            codes = concurrent_writes(url, threads=6, rounds=rounds)
            return time.perf_counter() - start, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each thread")
    parser.add_argument("--repeats", type=int, default=3, help="fresh servers per kind")
    args = parser.parse_args()
    print(f"6 threads × {args.rounds} rounds × 4 writes = {6 * args.rounds * 4} requests per server, "
          f"{args.repeats} fresh servers each, interleaved")
    print()
    results: dict[bool, list[tuple[float, dict[int, int]]]] = {True: [], False: []}
    for _ in range(args.repeats):
        for stock in (True, False):
            results[stock].append(burst(stock, args.rounds))
    print("| server | wall (s) | accepted (2xx) | 503 (retry later) | other |")
    print("|---|---|---|---|---|")
    for stock, label in ((True, "prefect server start"), (False, "spectraflow server")):
        runs = results[stock]
        ok = [float(sum(n for code, n in codes.items() if 200 <= code < 300)) for _, codes in runs]
        busy = [float(codes.get(503, 0)) for _, codes in runs]
        other = [float(sum(n for code, n in codes.items() if not 200 <= code < 300 and code != 503))
                 for _, codes in runs]
        print(f"| {label} | {mean_std([wall for wall, _ in runs])} | {mean_std(ok)} | {mean_std(busy)} | "
              f"{mean_std(other)} |")


if __name__ == "__main__":
    from _results import recorded

    with recorded("prefect_server"):
        main()
