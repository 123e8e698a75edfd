"""Reading ``params.yaml`` (the single source of stage parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spectraflow.config import load_params
from spectraflow.errors import ConfigError

PARAMS = Path("params.yaml")


def section(name: str, path: Path = PARAMS) -> dict[str, Any]:
    values = load_params(path).get(name) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path} [{name}]: expected a mapping of keys to values, found {values!r}")
    return dict(values)
