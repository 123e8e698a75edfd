"""The stage server: stage commands run without PREFECT_API_URL (a bare `dvc repro`) share one Prefect server,
which records their runs and stops by itself when no stage has held it for the idle time."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from spectraflow.stage_server import IDLE_VARIABLE
from spectraflow.testing.workspace import isolated_env, run

STAGE = """
import sys
from prefect import flow
from spectraflow.stage_server import prefect_api
from prefect.settings import PREFECT_API_URL

@flow(name=sys.argv[1])
def stage():
    return PREFECT_API_URL.value()

with prefect_api():
    print("API", stage())
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_stage_commands_share_one_server_that_stops_when_idle(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    env.pop("PREFECT_API_URL", None)
    env[IDLE_VARIABLE] = "8"
    script = tmp_path / "stage.py"
    script.write_text(STAGE)
    outputs = [run([sys.executable, str(script), name], tmp_path, env) for name in ("first-stage", "second-stage")]
    urls = [line.split()[1] for out in outputs for line in out.splitlines() if line.startswith("API ")]
    assert len(urls) == 2 and urls[0] == urls[1], outputs
    assert not any("Starting temporary server" in out for out in outputs)

    state_file = tmp_path / "prefect" / "stage-server" / "server.json"
    state = json.loads(state_file.read_text())
    assert state["url"] == urls[0] and _alive(state["pid"])
    request = urllib.request.Request(f"{urls[0]}/flows/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        names = {f["name"] for f in json.load(response)}
    assert {"first-stage", "second-stage"} <= names  # both runs on the one server, in PREFECT_HOME's database

    deadline = time.monotonic() + 60
    while _alive(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _alive(state["pid"]), "the idle stage server did not stop"
    assert not state_file.exists()
