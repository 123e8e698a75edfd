"""The Prefect server spectraflow runs: concurrent writers queue on SQLite instead of being answered 503."""

from __future__ import annotations

from spectraflow.testing.workspace import concurrent_writes, isolated_env, prefect_server


def test_concurrent_writes_are_all_accepted_at_once(tmp_path):
    """Six threads writing as stages do (flows, flow runs, states, logs; no retries) all get their answer: with
    Prefect's own server on SQLite many get 503 (SQLITE_BUSY_SNAPSHOT; benchmarks/prefect_server.py)."""
    env = isolated_env(tmp_path)
    with prefect_server(env, tmp_path / "server") as url:
        codes = concurrent_writes(url, threads=6, rounds=8)
    assert codes == {201: 6 * 8 * 4}, codes
