"""Interpolation alone: every band upsampled by a cubic spline, no guide (the baseline of every fusion table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import register
from ._base import Fuser, upsample


@register("fuse", "cubic")
@dataclass(frozen=True)
class Cubic(Fuser):
    """Cubic-spline interpolation of each band onto the fine grid (a guide, when given, only sets the grid)."""

    name = "cubic"
    guided = False
    tiled = True

    def sharpen_window(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int, fitted: Any) -> np.ndarray:
        return upsample(hs, ratio, None if guide is None else guide.shape[:2])
