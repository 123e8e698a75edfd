"""Unmix a store: the unmixing stage's work as one plain function."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ...config import SUBSPACE
from ...errors import ConfigError

__all__ = ["build_method", "unmix_scene", "unmix_store", "COUNT_UNSET"]

#: Why the unmixing stage asks for the number of endmembers rather than estimating it.
COUNT_UNSET = (
    "Set the number of endmembers the scene holds: for every scene in params.yaml (unmix.n_endmembers: 4) or for "
    "one (collection.scenes.<scene>.unmix: {n_endmembers: 4}). No estimator at hand counts them: HySime gives the "
    "signal subspace's dimension, an upper bound (78 on Samson's 3 endmembers, 22 on Jasper Ridge's 4), and the "
    "HFC/NW-HFC virtual dimensionality found the right count on at most 3 of 8 scenes "
    f"(benchmarks/results/endmember_count.md). n_endmembers: {SUBSPACE} unmixes into that upper bound.")


def build_method(spec: Mapping[str, Any] | str, regime: str) -> Any:
    """A method from ``{name: {params}}`` (or a bare name), checked to belong to ``regime``."""
    from .. import build
    from ._base import AbundanceEstimator, BlindUnmixer, EndmemberExtractor

    method = build("unmix", dict(spec) if isinstance(spec, Mapping) else spec, f"unmix.{regime}")
    expected = {"endmembers": EndmemberExtractor, "abundances": AbundanceEstimator, "blind": BlindUnmixer}[regime]
    if not isinstance(method, expected):
        raise ConfigError(f"params.yaml [unmix.{regime}]: {method.name!r} is a {method.regime} method, not one "
                          f"for {regime}")
    return method


def unmix_scene(cube: xr.DataArray, n: int, *, endmembers: Any = None, abundances: Any = None,
                blind: Any = None) -> tuple[xr.DataArray, xr.DataArray]:
    """Endmembers and abundances of ``cube``: by a blind method, or an extractor then an estimator."""
    if blind is not None:
        return blind.unmix(cube, n)
    em = endmembers.endmembers(cube, n)
    return em, abundances.abundances(cube, em).compute()


def unmix_store(source: str | os.PathLike[str], dest: str | os.PathLike[str], *, steps: Sequence[Any] = (),
                n_endmembers: int | str | None = None, endmembers: Mapping[str, Any] | str = "vca",
                abundances: Mapping[str, Any] | str = "fcls", blind: Mapping[str, Any] | str | None = None) -> Path:
    """Unmix the scene in store ``source`` and write endmembers, abundances and provenance to ``dest``.

    ``steps`` is a preprocessing chain applied first (lazily; typically ``radiometric`` and ``bad_bands``).
    ``n_endmembers`` is the count, or ``"subspace"`` for HySime's signal-subspace dimension (an upper bound on
    it); None is refused with :data:`COUNT_UNSET` (no estimator measured counts endmembers). Ground truth in the
    source (``endmembers``/``abundances``) is copied along as ``true_endmembers``/``true_abundances`` for
    evaluation.
    """
    from ..._atomic import check_replaceable
    from ...cube import CUBE, fill_invalid
    from ...io import open_store, write_result
    from ...preprocess import hysime, parse_steps, run_chain
    from .. import method_params

    check_replaceable(dest, "unmixing")  # before any work
    if n_endmembers is None:
        raise ConfigError(f"{source}: unmix.n_endmembers is not set. {COUNT_UNSET}")
    scene = run_chain(open_store(source), parse_steps(steps))
    cube = scene[CUBE]  # lazy: every step below reads it block by block (a few passes, never the whole cube)
    estimate = hysime(cube)  # its statistics skip invalid pixels
    cube, valid = fill_invalid(cube)  # nodata pixels: unmixed as the mean spectrum, NaN abundances after
    n = estimate.k if n_endmembers == SUBSPACE else int(n_endmembers)
    built = {"blind": build_method(blind, "blind")} if blind is not None else {
        "endmembers": build_method(endmembers, "endmembers"), "abundances": build_method(abundances, "abundances")}
    em, ab = unmix_scene(cube, n, **built)
    if valid is not None:
        ab = ab.where(valid)
    result = xr.Dataset({"endmembers": em.drop_vars([c for c in em.coords if c == "pixel_index"]),
                         "abundances": ab})
    if valid is not None:
        result["valid"] = valid
    if "pixel_index" in em.coords:
        result["endmember_pixel"] = ("endmember", np.asarray(em["pixel_index"].values))
    for name in ("endmembers", "abundances"):
        if name in scene:
            truth = scene[name].rename({"endmember": "true_endmember"}) if "endmember" in scene[name].dims \
                else scene[name]
            result[f"true_{name}"] = truth.drop_vars("endmember", errors="ignore")
    method_record = {k: {"name": type(v).name, "params": method_params(v)} for k, v in built.items()}
    result.attrs.update({k: v for k, v in scene.attrs.items() if isinstance(v, str | int | float)})
    result.attrs.update(input_store=str(source), n_endmembers=n, hysime_k=int(estimate.k),
                        unmixing=json.dumps(method_record))
    return write_result(result, dest, "unmixing")


