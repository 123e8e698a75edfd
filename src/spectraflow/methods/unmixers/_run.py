"""Unmix a store: the unmixing stage's work as one plain function."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ...errors import ConfigError

__all__ = ["build_method", "unmix_scene", "unmix_store"]


def build_method(spec: Mapping[str, Any] | str, regime: str) -> Any:
    """A method from ``{name: {params}}`` (or a bare name), checked to belong to ``regime``."""
    from ...config import from_mapping
    from .. import get
    from ._base import AbundanceEstimator, BlindUnmixer, EndmemberExtractor

    params: Mapping[str, Any]
    if isinstance(spec, str):
        name, params = spec, {}
    elif isinstance(spec, Mapping) and len(spec) == 1:
        ((name, params),) = spec.items()
    else:
        raise ConfigError(f"params.yaml [unmix.{regime}]: {spec!r}; expected a method name or {{name: {{params}}}}")
    cls = get("unmix", str(name))
    expected = {"endmembers": EndmemberExtractor, "abundances": AbundanceEstimator, "blind": BlindUnmixer}[regime]
    if not issubclass(cls, expected):
        raise ConfigError(f"params.yaml [unmix.{regime}]: {name!r} is a {cls.regime} method, not one for {regime}")
    return from_mapping(cls, params or {}, f"unmix.{regime}: {name}")


def unmix_scene(cube: xr.DataArray, n: int, *, endmembers: Any = None, abundances: Any = None,
                blind: Any = None) -> tuple[xr.DataArray, xr.DataArray]:
    """Endmembers and abundances of ``cube``: by a blind method, or an extractor then an estimator."""
    if blind is not None:
        return blind.unmix(cube, n)
    em = endmembers.endmembers(cube, n)
    return em, abundances.abundances(cube, em).compute()


def unmix_store(source: str | os.PathLike[str], dest: str | os.PathLike[str], *, steps: Sequence[Any] = (),
                n_endmembers: int | None = None, endmembers: Mapping[str, Any] | str = "vca",
                abundances: Mapping[str, Any] | str = "fcls", blind: Mapping[str, Any] | str | None = None) -> Path:
    """Unmix the scene in store ``source`` and write endmembers, abundances and provenance to ``dest``.

    ``steps`` is a preprocessing chain applied first (lazily; typically ``radiometric`` and ``bad_bands``).
    ``n_endmembers`` None estimates it by HySime. Ground truth in the source (``endmembers``/``abundances``)
    is copied along as ``true_endmembers``/``true_abundances`` for evaluation.
    """
    from ..._atomic import atomic_output
    from ...cube import CUBE
    from ...io import open_store
    from ...preprocess import hysime, parse_steps, run_chain

    scene = run_chain(open_store(source), parse_steps(steps))
    cube = scene[CUBE].persist() if scene[CUBE].nbytes < 2 << 30 else scene[CUBE]
    estimate = hysime(cube)
    n = int(n_endmembers or estimate.k)
    built = {"blind": build_method(blind, "blind")} if blind is not None else {
        "endmembers": build_method(endmembers, "endmembers"), "abundances": build_method(abundances, "abundances")}
    em, ab = unmix_scene(cube, n, **built)
    result = xr.Dataset({"endmembers": em.drop_vars([c for c in em.coords if c == "pixel_index"]),
                         "abundances": ab})
    if "pixel_index" in em.coords:
        result["endmember_pixel"] = ("endmember", np.asarray(em["pixel_index"].values))
    for name in ("endmembers", "abundances"):
        if name in scene:
            truth = scene[name].rename({"endmember": "true_endmember"}) if "endmember" in scene[name].dims \
                else scene[name]
            result[f"true_{name}"] = truth.drop_vars("endmember", errors="ignore")
    method_record = {k: {"name": type(v).name, "params": _params(v)} for k, v in built.items()}
    result.attrs.update({k: v for k, v in scene.attrs.items() if isinstance(v, str | int | float)})
    result.attrs.update(input_store=str(source), n_endmembers=n, hysime_k=int(estimate.k),
                        unmixing=json.dumps(method_record))
    # fixed-width unicode has no zarr v3 encoding yet; variable-length strings do
    result = result.assign_coords({k: v.astype(object) for k, v in result.coords.items() if v.dtype.kind == "U"})
    for variable in result.variables.values():
        variable.encoding = {}
    dest = Path(dest)
    with atomic_output(dest) as tmp:
        result.compute().to_zarr(tmp, mode="w-", zarr_format=3, consolidated=False)
    return dest


def _params(method: Any) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(method, f.name) for f in dataclasses.fields(method)}
