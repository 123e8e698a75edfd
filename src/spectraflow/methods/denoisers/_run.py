"""Denoise a store: the denoising stage's work as one plain function."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["denoise_store"]


def denoise_store(source: str | os.PathLike[str], dest: str | os.PathLike[str], method: Mapping[str, Any] | str,
                  noise: Mapping[str, Any] | None = None) -> tuple[Path, dict[str, Any]]:
    """Denoise the cube of store ``source`` (values in [0, 1]) into the store ``dest``; return it and metrics.

    With ``noise`` (``{case, seed, sigma, peak}``, see :func:`spectraflow.synth.add_noise`) the source is taken
    as clean: the noise is added, the noisy cube denoised and both scored against the source (MPSNR, MSSIM,
    SAM, ERGAS); the store then also holds the ``noisy`` cube. Without it the source itself is denoised.
    """
    from ...cube import CUBE
    from ...io import open_store, write_store
    from ...metrics import denoising_scores
    from ...synth import add_noise
    from .. import build, method_params

    denoiser = build("denoise", dict(method) if isinstance(method, Mapping) else method, "denoise.method")
    scene = open_store(source)
    cube = scene[CUBE].load()
    metrics: dict[str, Any] = {"method": denoiser.name}
    if noise is not None:
        noisy_values = add_noise(cube.values, **dict(noise))
        noisy = cube.copy(data=noisy_values)
        metrics["noisy"] = denoising_scores(noisy_values, cube.values)
    else:
        noisy = cube
    restored = denoiser.denoise(noisy)
    if noise is not None:
        metrics["denoised"] = denoising_scores(restored.values, cube.values)
    out = scene.assign({CUBE: restored.astype(np.float32)})
    if noise is not None:
        out = out.assign(noisy=noisy.astype(np.float32))
        out.attrs["noise"] = json.dumps(dict(noise))
    out.attrs.update(input_store=str(source), denoising=json.dumps({"name": denoiser.name,
                                                                    "params": method_params(denoiser)}))
    return write_store(out, dest), metrics
