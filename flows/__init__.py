"""Prefect flows: one per pipeline stage, each run by dvc.yaml as ``python -m flows.<stage>``.

Importing this package first points Prefect's state into the project and turns off telemetry, so runs
need no network and share nothing through ``~/.prefect``; for a stage command, it then hands the command to the
warm server (:mod:`flows._warm`), which runs the stage without Python's start and imports.
"""

import os
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PREFECT_HOME", str(_ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

if sys.argv[:1] == ["-m"]:  # `python -m flows.<stage>`: the stage runs warm where it can (flows/_warm.py)
    from flows._warm import hand_off

    hand_off()
