"""Denoise a store: the denoising stage's work as one plain function."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError

__all__ = ["denoise_store", "trained_on", "RESULT_PREFIX", "SEEN_SUFFIX"]

RESULT_PREFIX = "denoised_"  # the store variable of each method after the first (``denoised_<name>``)
#: The suffix of a learned method's metrics on a store its checkpoint trained on (scores there are not held out).
SEEN_SUFFIX = "_on_training_scene"


def trained_on(checkpoint: str | os.PathLike[str] | None) -> set[Path]:
    """The stores a checkpoint's model trained on (its ``model.json`` records them), resolved."""
    if checkpoint is None or not (Path(checkpoint) / "model.json").is_file():
        return set()
    record = json.loads((Path(checkpoint) / "model.json").read_text())
    return {Path(store).resolve() for store in (record.get("data") or {}).get("stores") or []}


def denoise_store(source: str | os.PathLike[str], dest: str | os.PathLike[str],
                  methods: Sequence[Mapping[str, Any] | str] | Mapping[str, Any] | str,
                  noise: Mapping[str, Any] | None = None) -> tuple[Path, dict[str, Any]]:
    """Denoise the cube of store ``source`` (values in [0, 1]) with each of ``methods``; return ``dest`` and
    metrics.

    ``methods`` is one ``params.yaml`` method entry or a list of them; every method denoises the same input.
    The first one's result is the ``cube`` of ``dest``; the others are stored as ``denoised_<name>``. With
    ``noise`` (``{case, seed, sigma, peak}``, see :func:`spectraflow.synth.add_noise`) the source is taken as
    clean: the noise is added, the noisy cube denoised and everything scored against the source (MPSNR,
    MSSIM, SAM, ERGAS); ``dest`` then also holds the ``noisy`` cube. Metrics: ``{noisy: scores, <name>:
    {scores..., seconds}}`` (no scores without ``noise``).
    """
    from ..._atomic import check_replaceable
    from ..._progress import log_line
    from ...cube import CUBE, fill_invalid
    from ...io import open_store, write_store
    from ...metrics import denoising_scores
    from ...synth import add_noise
    from .. import build, method_params

    check_replaceable(dest, "denoised")  # before any method runs
    specs = [methods] if isinstance(methods, str | Mapping) else list(methods)
    if not specs:
        raise ConfigError("params.yaml [denoise.methods]: empty; expected at least one method")
    denoisers = [build("denoise", dict(spec) if isinstance(spec, Mapping) else spec, f"denoise.methods[{i}]")
                 for i, spec in enumerate(specs)]
    names = [d.name for d in denoisers]
    if len(set(names)) != len(names):
        raise ConfigError(f"params.yaml [denoise.methods]: {names}; each method once (sweep a method's "
                          "parameters with `dvc exp run -S`)")
    scene = open_store(source)
    cube = scene[CUBE].load()
    cube, valid = fill_invalid(cube)  # nodata pixels: denoised as the mean spectrum, NaN again after
    metrics: dict[str, Any] = {}
    noisy = cube
    if noise is not None:
        noisy = cube.copy(data=add_noise(cube.values, **dict(noise)))
        metrics["noisy"] = denoising_scores(noisy.values, cube.values, valid)
    results = {}
    for denoiser in denoisers:
        tic = time.perf_counter()
        results[denoiser.name] = denoiser.denoise(noisy).astype(np.float32)
        seconds = time.perf_counter() - tic
        scores = denoising_scores(results[denoiser.name].values, cube.values, valid) if noise is not None else {}
        seen = Path(source).resolve() in trained_on(method_params(denoiser).get("checkpoint"))
        metrics[denoiser.name + (SEEN_SUFFIX if seen else "")] = {**scores, "seconds": seconds}
        scored = f", MPSNR {scores['mpsnr']:.2f} dB" if "mpsnr" in scores else ""
        log_line(f"denoise {Path(source).parent.name}: {denoiser.name} done in {seconds:.1f} s{scored}")
    if valid is not None:
        results = {name: result.where(valid) for name, result in results.items()}
        noisy = noisy.where(valid)
    first, *others = names
    out = scene.assign({CUBE: results[first], **{f"{RESULT_PREFIX}{n}": results[n] for n in others}})
    if noise is not None:
        out = out.assign(noisy=noisy.astype(np.float32))
        out.attrs["noise"] = json.dumps(dict(noise))
    out.attrs.update(input_store=str(source),
                     denoising=json.dumps([{"name": d.name, "params": method_params(d)} for d in denoisers]))
    return write_store(out, dest, kind="denoised"), metrics
