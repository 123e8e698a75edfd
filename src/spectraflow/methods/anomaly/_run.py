"""The anomaly stage's work: every configured detector scores the same cube, the scores go to one store."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["detect_store", "SCORES"]

#: The store's ``(method, y, x)`` variable: each detector's scores, in the order of ``methods`` (index it by
#: position: zarr gives the ``method`` coordinate back as NumPy's StringDType, which ``.sel`` does not match).
SCORES = "scores"


def detect_store(source: str | os.PathLike[str], dest: str | os.PathLike[str], *, steps: Sequence[Any] = (),
                 methods: Sequence[Any] = ("rx",)) -> tuple[Path, dict[str, float]]:
    """Score the scene in store ``source`` with every detector of ``methods`` (``params.yaml`` entries: a name or
    ``{name: {parameter: value}}``) and write the scores to ``dest``.

    ``steps`` is a preprocessing chain applied first (lazily: ``radiometric`` and ``bad_bands`` for a
    remote-sensing scene, ``anscombe`` for counting data). Invalid pixels (nodata) are scored as the mean
    spectrum by the detectors and NaN in the store. The scene's ``anomaly_map``, when it has one, is copied along
    for evaluation. Returns the store and each method's wall seconds (kept out of the store, whose bytes are a
    function of its inputs).
    """
    from ..._atomic import check_replaceable
    from ...cube import CUBE, fill_invalid
    from ...io import open_store, write_result
    from ...preprocess import parse_steps, run_chain
    from .. import build, method_params

    check_replaceable(dest, "anomaly")  # before any work
    detectors = [build("anomaly", spec, "anomaly.methods") for spec in methods]
    scene = run_chain(open_store(source), parse_steps(steps))
    cube, valid = fill_invalid(scene[CUBE])
    maps, record, seconds = [], [], {}
    for detector in detectors:
        start = time.perf_counter()
        maps.append(np.asarray(detector.scores(cube).values, dtype=np.float64))
        seconds[type(detector).name] = time.perf_counter() - start
        record.append({"name": type(detector).name, "params": method_params(detector)})
    values = np.stack(maps)
    if valid is not None:
        values[:, ~valid.values] = np.nan
    names = [entry["name"] for entry in record]
    result = xr.Dataset({SCORES: (("method", "y", "x"), values)},
                        coords={"method": names,
                                **{d: scene[CUBE][d] for d in ("y", "x") if d in scene[CUBE].coords}})
    if valid is not None:
        result["valid"] = valid
    if "anomaly_map" in scene:
        result["anomaly_map"] = scene["anomaly_map"].astype(bool)
    result.attrs.update({k: v for k, v in scene.attrs.items() if isinstance(v, str | int | float)})
    result.attrs.update(input_store=str(source), anomaly=json.dumps(record))
    return write_result(result, dest, "anomaly"), seconds
