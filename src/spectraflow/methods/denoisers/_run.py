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
    MSSIM, SAM, ERGAS); ``dest`` then also holds the ``noisy`` cube, and the methods read it from there, as
    they would read a real scene, and its attribute ``band_psnr`` the PSNR of each band of every cube. Metrics:
    ``{noisy: scores, <name>: {scores..., seconds}}`` (no scores without ``noise``); ``seconds`` is the method's
    wall time: its statistics pass, then its tiles computed and written.

    Nothing is held whole in memory: the noise is drawn block by block, every method reads and writes a strip of
    the cube at a time within its ``memory_mb``, and the scores are accumulated strip by strip.
    """
    from ..._atomic import check_replaceable
    from ..._progress import log_line
    from ...cube import CUBE, fill_invalid
    from ...io import open_store, store_writer
    from ...metrics import denoising_scores_by_band
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
    scene = open_store(source)  # lazy: every step below reads and writes a strip of the cube at a time
    cube, valid = fill_invalid(scene[CUBE])  # nodata pixels: denoised as the mean spectrum, NaN again after

    def masked(result: Any) -> Any:
        return result.where(valid) if valid is not None else result

    variables = {name: CUBE if i == 0 else f"{RESULT_PREFIX}{name}" for i, name in enumerate(names)}
    template = cube.astype(np.float32)  # gives the results' shape and dtype
    outputs = scene.assign({variable: template for variable in variables.values()})
    outputs = outputs.assign(noisy=template) if noise is not None else outputs
    metrics: dict[str, Any] = {}
    band_psnr: dict[str, np.ndarray] = {}  # stored in the attributes: the stage's per-band table reads them
    with store_writer(outputs, dest, kind="denoised") as writer:
        noisy = cube
        if noise is not None:  # the protocol's noise, stored; the methods read it back as a real scene's input
            writer.write("noisy", masked(cube.copy(data=add_noise(cube.data, **dict(noise)))).data)
            noisy = writer.open()["noisy"]
            metrics["noisy"], band_psnr["noisy"] = denoising_scores_by_band(noisy, cube, valid)
            noisy = fill_invalid(noisy, valid)[0] if valid is not None else noisy
        for denoiser in denoisers:
            tic = time.perf_counter()  # the method's statistics pass, then its tiles as they are written
            writer.write(variables[denoiser.name], masked(denoiser.denoise(noisy)).data)
            seconds = time.perf_counter() - tic
            scores: dict[str, float] = {}
            if noise is not None:
                scores, band_psnr[denoiser.name] = denoising_scores_by_band(writer.open()[variables[denoiser.name]],
                                                                            cube, valid)
            seen = Path(source).resolve() in trained_on(method_params(denoiser).get("checkpoint"))
            metrics[denoiser.name + (SEEN_SUFFIX if seen else "")] = {**scores, "seconds": seconds}
            scored = f", MPSNR {scores['mpsnr']:.2f} dB" if "mpsnr" in scores else ""
            log_line(f"denoise {Path(source).parent.name}: {denoiser.name} done in {seconds:.1f} s{scored}")
        if noise is not None:
            writer.attrs["noise"] = json.dumps(dict(noise))
            writer.attrs["band_psnr"] = json.dumps({k: np.round(v, 4).tolist() for k, v in band_psnr.items()})
        writer.attrs.update(input_store=str(source),
                            denoising=json.dumps([{"name": d.name, "params": method_params(d)} for d in denoisers]))
    return Path(dest), metrics
