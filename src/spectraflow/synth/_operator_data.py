"""Operator-learning datasets from the seeded solvers: ``(inputs, outputs, attrs)`` as ``(sample, channel, *grid)``.

``darcy``          coefficient ``a`` ↦ pressure ``u`` (2-D, f = 1, zero boundary)
``burgers``        ``u(·, 0)`` ↦ ``u(·, time)`` (1-D, periodic, ``viscosity``)
``navier_stokes``  ``ω(·, 0)`` ↦ ``ω(·, time)`` (2-D vorticity on the torus, ``viscosity``, the paper's forcing)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["EQUATIONS", "operator_data"]

EQUATIONS = ("darcy", "burgers", "navier_stokes")


def operator_data(equation: str, n: int, size: int, seed: int = 0, **parameters: Any) -> tuple[np.ndarray,
                                                                                               np.ndarray,
                                                                                               dict[str, Any]]:
    """``n`` seeded samples of ``equation`` on a grid of ``size`` points per axis (see the module docstring)."""
    from ._burgers import burgers_dataset
    from ._darcy import darcy_dataset
    from ._navier_stokes import navier_stokes_dataset

    attrs: dict[str, Any] = {"equation": equation, "seed": seed, "size": size, **parameters}
    if equation == "darcy":
        a, u = darcy_dataset(n, size, seed, **parameters)
        return a[:, None], u[:, None], attrs
    if equation == "burgers":
        u0, trajectory = burgers_dataset(n, size, seed, **parameters)
        return u0[:, None], trajectory[:, -1:], attrs
    if equation == "navier_stokes":
        w0, trajectory = navier_stokes_dataset(n, size, seed, steps=1, **parameters)
        return w0[:, None], trajectory[:, -1:], attrs
    raise ConfigError(f"operator data: equation={equation!r}; expected one of {EQUATIONS}")
