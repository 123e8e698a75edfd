"""Reading ``params.yaml`` (the single source of stage parameters), for the whole run or for one scene."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from prefect import Flow

from flows._warm import FLOW_RUN_VARIABLE
from spectraflow.collection import SceneLayout, parallel_bound, stage_view
from spectraflow.compute import limit_threads, stage_threads
from spectraflow.config import ComputeConfig, from_mapping, load_params
from spectraflow.cube import STAGE_VARIABLE
from spectraflow.errors import ConfigError
from spectraflow.stage_server import prefect_api

PARAMS = Path("params.yaml")
C = TypeVar("C")


def section(name: str, path: Path = PARAMS) -> dict[str, Any]:
    values = load_params(path).get(name) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path} [{name}]: expected a mapping of keys to values, found {values!r}")
    return dict(values)


def scene_view(stage: str, scene: str) -> dict[str, Any]:
    """What ``params.yaml`` says to ``stage`` of ``scene``, by section (:func:`spectraflow.collection.stage_view`),
    from the file the ``configure`` stage wrote for it (the stage's dependency in dvc.yaml); refused when it is
    missing or ``params.yaml`` has changed since."""
    import json

    path = Path(SceneLayout(scene).config(stage))
    if not path.is_file():
        raise ConfigError(f"{path}: missing; the configure stage writes it (run `dvc repro`, or "
                          "`python -m flows.configure`)")
    view = json.loads(path.read_text(encoding="utf-8"))["params"]
    current = json.loads(json.dumps(stage_view(load_params(PARAMS), stage, scene)))  # as JSON holds it
    if view != current:
        changed = sorted(k for k in {*view, *current} if view.get(k) != current.get(k))
        raise ConfigError(f"{path}: stale, {PARAMS} has changed since the configure stage wrote it (sections "
                          f"{changed}); run `dvc repro` (or `python -m flows.configure` first)")
    return dict(view)


def scene_config(cls: type[C], stage: str, scene: str) -> C:
    """The configuration of ``stage`` for ``scene`` of the collection (its overrides and paths applied): the
    stage's own section of :func:`scene_view`."""
    return from_mapping(cls, scene_view(stage, scene)[stage], f"{stage} of {stage}@{scene}")


def stage_flow(module: ModuleType) -> Flow[..., Any]:
    """The flow a stage module defines (each ``flows.<stage>`` module defines one)."""
    flows = [v for v in vars(module).values() if isinstance(v, Flow) and v.fn.__module__ == module.__name__]
    if len(flows) != 1:
        raise RuntimeError(f"{module.__name__}: expected one flow, found {len(flows)}")
    return flows[0]


def command_parameters(flow: Flow[..., Any], args: list[str]) -> dict[str, str]:
    """The flow's parameters from a stage command's arguments (positional: ``python -m flows.denoise aviris``)."""
    names = list(flow.parameters.properties)
    required = list(flow.parameters.required or [])
    if len(args) > len(names) or len(args) < len(required):
        usage = " ".join(f"<{n}>" for n in required)
        hint = "  (<scene>: a name under collection.scenes in params.yaml)" if "scene" in required else ""
        raise SystemExit(f"usage: python -m flows.<stage> {usage}".rstrip() + hint)
    return dict(zip(names, args, strict=False))


def main(flow: Flow[..., Any]) -> None:
    """Run a stage's flow from its command line, as dvc.yaml does. Started by the pipeline flow, the command
    takes over the flow run created for it there (a child of the stage's task run, on the pipeline's server);
    started by a bare ``dvc repro``, it runs on the stage server the stages share (spectraflow.stage_server).
    Either way it computes with the threads of :func:`spectraflow.compute.stage_threads`."""
    parameters = command_parameters(flow, sys.argv[1:])
    os.environ[STAGE_VARIABLE] = flow.name  # no clock in what it writes (spectraflow.cube.creation_time)
    params = load_params(PARAMS)
    compute = from_mapping(ComputeConfig, params.get("compute") or {}, "compute")
    limit_threads(stage_threads(compute.threads, parallel_bound(params.get("collection") or {})))
    given = os.environ.pop(FLOW_RUN_VARIABLE, None)
    with prefect_api():
        if given is None:
            flow(**parameters)
            return
        from prefect.client.schemas.objects import FlowRun
        from prefect.flow_engine import run_flow

        flow_run = FlowRun.model_validate_json(given)  # as the server returned it to the pipeline
        if flow_run.parameters != parameters:
            raise RuntimeError(f"flow run {flow_run.id} has parameters {flow_run.parameters}; "
                               f"the command gives {parameters}")
        run_flow(flow, flow_run=flow_run, parameters=parameters)
