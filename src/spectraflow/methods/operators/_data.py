"""Operator-learning data: the neuraloperator ``.pt`` files and our generators, into field stores.

A neuraloperator file is a ``dict`` of tensors — Darcy: ``x`` ``(n, s, s)`` coefficient, ``y`` ``(n, s, s)``
solution; Burgers: ``x`` ``(n, s)`` initial condition, ``y`` ``(n, t, s)`` trajectory, ``visc``. It is read
with ``torch.load(weights_only=True)``: tensors only, nothing is unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import FormatError

__all__ = ["read_neuraloperator_pt"]


def read_neuraloperator_pt(path: str | os.PathLike[str], target: str = "final") -> tuple[np.ndarray, np.ndarray,
                                                                                             dict[str, Any]]:
    """``(inputs, outputs, attrs)`` ``(sample, channel, *grid)`` float32 from a neuraloperator ``.pt`` file.

    For a trajectory ``y`` ``(n, t, s)`` (Burgers) ``target`` picks ``final`` (the last time step: the map
    ``u₀ ↦ u(T)``) or ``trajectory`` (every step as an output channel).
    """
    from ...train import load_weights_only

    path = Path(path)
    content = load_weights_only(path)
    if not isinstance(content, dict) or not {"x", "y"} <= set(content):
        raise FormatError(path, "keys", "a dict with tensors 'x' and 'y'",
                          sorted(content) if isinstance(content, dict) else type(content).__name__)
    x = np.asarray(content["x"].numpy(), dtype=np.float32)
    y = np.asarray(content["y"].numpy(), dtype=np.float32)
    attrs: dict[str, Any] = {"source": path.name}
    if "visc" in content:
        attrs["viscosity"] = float(np.asarray(content["visc"]).ravel()[0])
    if x.ndim == y.ndim:  # Darcy-like: (n, *grid) → (n, *grid)
        if x.shape != y.shape:
            raise FormatError(path, "y", f"the shape of x {x.shape}", y.shape)
        return x[:, None], y[:, None], attrs
    if y.ndim == x.ndim + 1 and y.shape[0] == x.shape[0] and y.shape[2:] == x.shape[1:]:  # trajectories
        if target not in ("final", "trajectory"):
            raise ValueError(f"target={target!r}; expected 'final' or 'trajectory'")
        attrs["time_steps"] = int(y.shape[1])
        return x[:, None], (y[:, -1:] if target == "final" else y), attrs
    raise FormatError(path, "y", f"(n, *grid) or (n, t, *grid) matching x {x.shape}", y.shape)
