"""The collection: the scenes ``params.yaml`` declares, each flowing through every per-scene stage.

``params.yaml`` declares them under ``collection.scenes``, one entry per scene keyed by its name::

    collection:
      parallel: 2                  # scenes the pipeline flow runs at once
      scenes:
        aviris:
          source_dir: data/raw/aviris   # where the scene's file(s) are, inside the workspace
          source: scene.hdr
          ground_truth: scene_groundtruth.nc   # optional
          format: null             # optional ingest keys: format, nonfinite, compressor
          unmix: {n_endmembers: 5}  # optional per-stage overrides (keys of that stage's section)

``dvc.yaml`` expands ``ingest@<scene>``, ``preprocess@<scene>``, ``denoise@<scene>``, ``unmix@<scene>`` and
``anomaly@<scene>`` over the entries (``foreach``), so adding a scene adds its stages only. A scene with a
companion image (a finer panchromatic or multispectral image of the same ground) names it under
``fuse.companions``, and ``fuse@<scene>`` sharpens it::

    fuse:
      companions:
        camera: {source_dir: data/raw/camera, source: companion.hdr, reference: reference.nc}

Every artifact of a scene lives under a directory named after it (:class:`SceneLayout`); dvc.yaml spells the
same paths, and a test holds the two together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["PER_SCENE_STAGES", "COMPANION_STAGE", "NETWORK_STAGE", "INGEST_KEYS", "STAGE_STORES", "SceneLayout",
           "add_scenes", "check_scene_name", "companion_entries", "scene_entries", "scene_stages", "stage_values",
           "stage_view"]

#: The stages dvc.yaml runs once per scene, in order.
PER_SCENE_STAGES = ("ingest", "preprocess", "denoise", "unmix", "anomaly")
#: The stage dvc.yaml runs for the scenes named under ``fuse.companions`` (those with a companion image).
COMPANION_STAGE = "fuse"
#: The stage dvc.yaml runs for the scenes ``train_unmix.scenes`` lists (the unmixing network fitted to each).
NETWORK_STAGE = "train_unmix"
#: Keys of a scene entry that configure its ingestion (the rest of the ``ingest`` section is shared).
INGEST_KEYS = ("source_dir", "source", "ground_truth", "format", "nonfinite", "compressor")
#: The store each per-scene stage reads (None: the scene's files) and the one it writes.
STAGE_STORES: dict[str, tuple[str | None, str]] = {"ingest": (None, "scene"), "preprocess": ("scene", "preprocessed"),
                                                   "denoise": ("preprocessed", "denoised"),
                                                   "unmix": ("scene", "unmixing"), "anomaly": ("scene", "anomaly"),
                                                   COMPANION_STAGE: ("scene", "fused")}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_scene_name(name: object) -> str:
    """A scene name is a directory name and part of a DVC stage name: ASCII letters, digits, ``_`` and ``-``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(f"params.yaml [collection.scenes]: scene name {name!r}; expected 1-64 ASCII letters, "
                          "digits, '_' or '-', starting with a letter or digit")
    return name


@dataclass(frozen=True)
class SceneLayout:
    """Where the artifacts of scene ``name`` live (dvc.yaml's ``foreach`` stages name the same paths)."""

    name: str

    def __post_init__(self) -> None:
        check_scene_name(self.name)

    def store(self, kind: str) -> str:
        """The store of ``kind``: ``scene`` (ingested), ``preprocessed``, ``denoised``, ``unmixing``, ``anomaly``,
        ``companion`` (the companion image, ingested) or ``fused``."""
        return f"data/stores/{self.name}/{kind}.zarr"

    def metrics(self, stage: str) -> str:
        return f"data/metrics/{self.name}/{stage}.json"

    def plot(self, file: str) -> str:
        return f"data/plots/{self.name}/{file}"

    def config(self, stage: str) -> str:
        """What ``stage`` of the scene depends on besides its data (:func:`stage_view` and its code's
        fingerprint), written by the ``configure`` stage."""
        return f"data/config/{self.name}/{stage}.json"

    def model(self, name: str) -> str:
        """The checkpoint directory of the model ``name`` fitted to the scene (``unmix_network``)."""
        return f"data/models/{self.name}/{name}"


def scene_entries(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``collection.scenes`` of ``params``, every name and entry checked."""
    collection = params.get("collection") or {}
    scenes = collection.get("scenes") if isinstance(collection, Mapping) else None
    if not isinstance(scenes, Mapping) or not scenes:
        raise ConfigError("params.yaml [collection.scenes]: expected a mapping of scene names to their entries "
                          f"(source_dir, source, ...), found {scenes!r}")
    allowed = (*INGEST_KEYS, *PER_SCENE_STAGES[1:])
    entries = {}
    for name, entry in scenes.items():
        check_scene_name(name)
        if not isinstance(entry, Mapping):
            raise ConfigError(f"params.yaml [collection.scenes.{name}]: expected a mapping, found {entry!r}")
        unknown = sorted(set(entry) - set(allowed))
        if unknown:
            raise ConfigError(f"params.yaml [collection.scenes.{name}]: unknown key(s) {unknown}; allowed: "
                              f"{sorted(allowed)}")
        for stage in PER_SCENE_STAGES[1:]:
            if entry.get(stage) is not None and not isinstance(entry[stage], Mapping):
                raise ConfigError(f"params.yaml [collection.scenes.{name}.{stage}]: expected a mapping of "
                                  f"{stage} keys to override, found {entry[stage]!r}")
        entries[name] = dict(entry)
    return entries


def companion_entries(params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``fuse.companions`` of ``params``: each a scene of the collection mapped to its companion's entry (file,
    reader keys, overrides of the ``fuse`` section's keys)."""
    section = params.get(COMPANION_STAGE) or {}
    companions = section.get("companions") if isinstance(section, Mapping) else None
    if companions is None:
        return {}
    if not isinstance(companions, Mapping):
        raise ConfigError(f"params.yaml [fuse.companions]: expected a mapping of scene names to their companion "
                          f"images, found {companions!r}")
    scenes = scene_entries(params)
    for name, entry in companions.items():
        if name not in scenes:
            raise ConfigError(f"params.yaml [fuse.companions]: {name!r} is not a scene of the collection "
                              f"({sorted(scenes)})")
        if not isinstance(entry, Mapping):
            raise ConfigError(f"params.yaml [fuse.companions.{name}]: expected a mapping (source_dir, source, ...), "
                              f"found {entry!r}")
    return {name: dict(entry) for name, entry in companions.items()}


def stage_values(params: Mapping[str, Any], stage: str, scene: str) -> dict[str, Any]:
    """The ``params.yaml`` section of ``stage`` as scene ``scene`` sees it: the shared section, the scene's
    overrides on top (key by key), and the scene's input and output paths. For the fuse stage, the scene's
    entry under ``fuse.companions`` gives the overrides, and the companion's files."""
    entries = scene_entries(params)
    if scene not in entries:
        raise ConfigError(f"params.yaml [collection.scenes]: no scene {scene!r}; the collection has "
                          f"{sorted(entries)}")
    entry, layout = entries[scene], SceneLayout(scene)
    values = dict(params.get(stage) or {})
    source, out = STAGE_STORES[stage]
    if source is None:  # ingest: the scene's files
        values.update({k: v for k, v in entry.items() if k in INGEST_KEYS}, name=scene)
    elif stage == COMPANION_STAGE:
        companions = companion_entries(params)
        if scene not in companions:
            raise ConfigError(f"params.yaml [fuse.companions]: scene {scene!r} has no companion image; scenes with "
                              f"one: {sorted(companions)}")
        values.pop("companions", None)
        values.update(companions[scene], input=layout.store(source), companion_store=layout.store("companion"))
    else:
        values.update(entry.get(stage) or {}, input=layout.store(source))
    values["out"] = layout.store(out)
    return values


def stage_view(params: Mapping[str, Any], stage: str, scene: str) -> dict[str, Any]:
    """Everything of ``params`` that decides what ``stage`` of ``scene`` writes, by section: the stage's own as
    the scene sees it (:func:`stage_values`; for the unmixing network its ``train_unmix`` section and the scene's
    ``unmix``) and ``compute.threads`` (a sum's order follows the threads)."""
    compute = params.get("compute") or {}
    threads = {"threads": compute.get("threads") if isinstance(compute, Mapping) else None}
    if stage == NETWORK_STAGE:
        return {stage: dict(params.get(stage) or {}), "unmix": stage_values(params, "unmix", scene),
                "compute": threads}
    return {stage: stage_values(params, stage, scene), "compute": threads}


def scene_stages(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every (stage, scene) pair dvc.yaml expands from ``params``: the per-scene stages of every scene, the fuse
    stage of each scene with a companion image, the unmixing network of each scene ``train_unmix.scenes`` lists."""
    scenes = scene_entries(params)
    listed = (params.get(NETWORK_STAGE) or {}).get("scenes") or []
    unknown = [name for name in listed if name not in scenes]
    if unknown:
        raise ConfigError(f"params.yaml [{NETWORK_STAGE}.scenes]: {unknown} not scenes of the collection "
                          f"({sorted(scenes)})")
    return [(stage, scene) for scene in scenes for stage in PER_SCENE_STAGES] + [
        (COMPANION_STAGE, scene) for scene in companion_entries(params)] + [(NETWORK_STAGE, scene) for scene in listed]


def parallel_bound(collection: Mapping[str, Any]) -> int:
    """``collection.parallel``: how many stages the pipeline flow runs at once (1 when unset)."""
    value = collection.get("parallel", 1)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"params.yaml [collection.parallel]: {value!r}; expected a whole number >= 1")
    return value


def _flow(entry: Mapping[str, Any]) -> str:
    import yaml

    return str(yaml.safe_dump(dict(entry), default_flow_style=True, width=10**6, sort_keys=False)).strip()


def add_scenes(params_path: str | os.PathLike[str], entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Append scenes to ``collection.scenes`` of the ``params.yaml`` at ``params_path``, one line each after the
    last scene, leaving every other byte of the file as it was (comments, layout); written beside and renamed
    over, so a crash leaves the old file or the new one. Refuses a name the collection has, or an entry
    :func:`scene_entries` would refuse, before writing anything; checks that the new file parses to the old
    parameters plus exactly these scenes."""
    import yaml

    from ._atomic import atomic_output
    from .config import load_params

    path = Path(params_path)
    before = load_params(path)
    taken = sorted(set(entries) & set(scene_entries(before)))
    if taken:
        raise ConfigError(f"{path} [collection.scenes]: scene(s) {taken} already in the collection")
    scene_entries({"collection": {"scenes": dict(entries)}})  # checks the new names and keys
    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    collection = next(v for k, v in root.value if k.value == "collection")
    scenes = next(v for k, v in collection.value if k.value == "scenes")
    if not isinstance(scenes, yaml.MappingNode) or scenes.flow_style:
        raise ConfigError(f"{path} [collection.scenes]: expected a block mapping (one scene per entry) to add to")
    indent = " " * scenes.value[0][0].start_mark.column
    end = scenes.value[-1][1].end_mark
    at = end.line + (1 if end.column > 0 else 0)  # the line after the last scene's value
    lines = text.splitlines(keepends=True)
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"
    added = [f"{indent}{name}: {_flow(entry)}\n" for name, entry in entries.items()]
    new_text = "".join(lines[:at] + added + lines[at:])
    expected = yaml.safe_load(text)
    expected["collection"]["scenes"].update({k: dict(v) for k, v in entries.items()})
    if yaml.safe_load(new_text) != expected:
        raise RuntimeError(f"{path}: adding scenes {sorted(entries)} would change other parameters; not written")
    with atomic_output(path) as tmp:
        tmp.write_text(new_text, encoding="utf-8")
