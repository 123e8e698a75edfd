"""Device selection: CUDA when present, CPU otherwise (``device: auto`` in params.yaml)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

__all__ = ["select_device"]


def select_device(preference: str = "auto") -> Any:
    """``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda`` or ``cuda:N`` → a :class:`torch.device`."""
    import torch

    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference == "cpu" or preference.startswith("cuda"):
        if preference.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device={preference!r}: CUDA is not available here; use 'auto' or 'cpu'")
        return torch.device(preference)
    raise ConfigError(f"device={preference!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'")
