"""NumPy ↔ torch for the solvers: float64 on the selected device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...train import select_device


def run_on_device(fn: Callable[..., Any], y: np.ndarray, e: np.ndarray, device: str, **kwargs: Any) -> np.ndarray:
    """``fn(Y, E, **kwargs)`` on float64 tensors on ``device`` (``auto``: CUDA when present); NumPy back."""
    import torch

    dev = select_device(device)
    with torch.no_grad():
        out = fn(torch.as_tensor(y, dtype=torch.float64, device=dev),
                 torch.as_tensor(e, dtype=torch.float64, device=dev), **kwargs)
    return out.cpu().numpy()
