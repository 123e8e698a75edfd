"""Reading ``params.yaml`` (the single source of stage parameters), for the whole run or for one scene."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TypeVar

from spectraflow.collection import stage_values
from spectraflow.config import from_mapping, load_params
from spectraflow.errors import ConfigError

PARAMS = Path("params.yaml")
C = TypeVar("C")


def section(name: str, path: Path = PARAMS) -> dict[str, Any]:
    values = load_params(path).get(name) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path} [{name}]: expected a mapping of keys to values, found {values!r}")
    return dict(values)


def scene_config(cls: type[C], stage: str, scene: str, path: Path = PARAMS) -> C:
    """The configuration of ``stage`` for ``scene`` of the collection (its overrides and paths applied)."""
    return from_mapping(cls, stage_values(load_params(path), stage, scene), f"{stage} of scene {scene}")


def scene_argument() -> str:
    """The scene named on the command line of a per-scene stage (``python -m flows.<stage> <scene>``)."""
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: python -m {Path(sys.argv[0]).stem} <scene>  (a name under collection.scenes "
                         "in params.yaml)")
    return sys.argv[1]
