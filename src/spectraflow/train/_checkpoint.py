"""Checkpoints: a directory holding ``model.pt`` (a ``state_dict``) and ``model.json`` (what rebuilds the model).

``model.json`` is ``{format, family, name, config, version, epoch, metrics}``: ``family``/``name`` are the
registry keys of the model, ``config`` the keyword arguments that rebuild its network, ``version`` the
spectraflow version that wrote it. A training run also records its settings and device and whether it is
``complete`` (it ran to its last epoch or stopped early: a killed run's checkpoint holds its best epoch so far and
says it is not), and keeps ``last.pt`` (the latest weights with the optimizer and schedule state) so an
interrupted run resumes. Every ``.pt`` is read with ``torch.load(weights_only=True)``:
tensors and plain containers only, nothing is unpickled. A checkpoint directory is replaced atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._atomic import atomic_output
from ..errors import FormatError, InputNotFoundError, SpectraflowError

__all__ = ["CHECKPOINT_FORMAT", "save_checkpoint", "read_checkpoint", "read_training_state", "load_weights_only",
           "checkpoint_complete"]

CHECKPOINT_FORMAT = 1
_WEIGHTS, _META, _STATE = "model.pt", "model.json", "last.pt"


def _cpu(state: Any) -> Any:
    """A copy of a (nested) state with every tensor detached on the CPU, so a checkpoint loads anywhere."""
    import torch

    if isinstance(state, torch.Tensor):
        return state.detach().to("cpu").clone()
    if isinstance(state, dict):
        return {k: _cpu(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(_cpu(v) for v in state)
    return state


def save_checkpoint(directory: str | os.PathLike[str], weights: dict[str, Any], meta: dict[str, Any],
                    training_state: dict[str, Any] | None = None) -> Path:
    """Write ``weights`` (a ``state_dict``), ``meta`` and optionally the resumable ``training_state``."""
    import torch

    from .. import __version__

    missing = {"family", "name", "config"} - set(meta)
    if missing:
        raise ValueError(f"checkpoint meta lacks {sorted(missing)}")
    record = {"format": CHECKPOINT_FORMAT, "version": __version__, **meta}
    with atomic_output(directory, "checkpoint") as tmp:
        tmp.mkdir()
        torch.save(_cpu(weights), tmp / _WEIGHTS)
        if training_state is not None:
            torch.save(_cpu(training_state), tmp / _STATE)
        (tmp / _META).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return Path(directory)


def load_weights_only(path: str | os.PathLike[str]) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU: tensors and plain containers, nothing unpickled; any
    other content is a :class:`~spectraflow.errors.FormatError` naming the file."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        raise FormatError(path, "contents", "tensors and plain containers (torch.load weights_only=True)",
                          str(exc).splitlines()[0]) from None


def read_checkpoint(directory: str | os.PathLike[str], family: str | None = None) -> tuple[dict[str, Any],
                                                                                          dict[str, Any]]:
    """``(meta, state_dict)`` of the checkpoint in ``directory``; ``family`` checks what kind of model it is."""
    directory = Path(directory)
    meta_path = directory / _META
    if not meta_path.is_file() or not (directory / _WEIGHTS).is_file():
        raise InputNotFoundError(f"{directory}: no checkpoint here (expected {_META} and {_WEIGHTS}; "
                                 "the training stage writes them)")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(meta_path, "JSON", "a JSON object", str(exc)) from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT or not {"family", "name",
                                                                                     "config"} <= set(meta):
        raise FormatError(meta_path, "format", f"a format-{CHECKPOINT_FORMAT} record with family, name and config",
                          meta.get("format") if isinstance(meta, dict) else type(meta).__name__)
    if family is not None and meta["family"] != family:
        raise FormatError(meta_path, "family", f"a {family!r} model", f"{meta['family']} ({meta['name']})")
    weights = load_weights_only(directory / _WEIGHTS)
    if not isinstance(weights, dict):
        raise FormatError(directory / _WEIGHTS, "state_dict", "a mapping of tensors", type(weights).__name__)
    return meta, weights


def read_training_state(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The resumable state of an interrupted run in ``directory``, or ``None`` when there is none."""
    path = Path(directory) / _STATE
    if not path.is_file():
        return None
    state = load_weights_only(path)
    if not isinstance(state, dict):
        raise FormatError(path, "training state", "a mapping", type(state).__name__)
    return state


def checkpoint_complete(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds the checkpoint of a training run that ran to its end (a killed run's is readable,
    with its best epoch so far, but not complete; so is one written before runs recorded it)."""
    try:
        meta, _ = read_checkpoint(directory)
    except SpectraflowError:
        return False
    return meta.get("complete") is True
