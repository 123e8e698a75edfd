"""Tests of the denoisers; :func:`scaled_scene` is the clean cube several of them denoise."""

from __future__ import annotations

import numpy as np

from spectraflow.synth import synthetic_scene


def scaled_scene(seed: int, size: int = 64) -> np.ndarray:
    """The good bands of a seeded synthetic scene, ``size`` × ``size``, scaled to [0, 1] (float64)."""
    scene = synthetic_scene(seed, height=size, width=size)
    clean = scene["cube"].isel(band=np.flatnonzero(scene["good_band"].values)).values.astype(np.float64)
    return (clean - clean.min()) / (clean.max() - clean.min())
