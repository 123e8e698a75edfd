"""Reading ``params.yaml`` (the single source of stage parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PARAMS = Path("params.yaml")


def section(name: str, path: Path = PARAMS) -> dict[str, Any]:
    with open(path) as f:
        params = yaml.safe_load(f) or {}
    return dict(params.get(name) or {})
