"""The fuse stage's work: a scene sharpened by its companion image with every configured method, scored.

Three views of each method's quality, each named in the metrics:

* ``full``: the no-reference QNR (``d_lambda``, ``d_s``, ``qnr``) of the cube fused at the companion's
  resolution, the product users keep;
* ``reduced``: Wald's protocol on the pair itself: the scene and its companion both degraded by the ratio,
  fused, and scored (PSNR, SAM, ERGAS, Q-avg) against the scene as it was: the standard check with no finer
  reference at hand;
* ``reference``: the fused cube scored against a finer reference of the scene when one is given (a generated
  scene's, a campaign's airborne flight).

PSNR takes the peak of the image it scores against as the data range.

A large scene is fused block by block and scored on a window: the methods fuse tile by tile, reading the scene
and its companion as they write the fused store, within their ``memory_mb``, and the
three views are computed on the central window of at most ``score_window`` × ``score_window`` fine pixels
(the whole scene when it is smaller; ``None``: always the whole scene). The metrics say how many fine pixels
were scored (``scored_pixels``) and the store where (its ``scored_window`` attribute).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ...errors import ConfigError, FormatError, SpectraflowError

__all__ = ["fuse_store", "read_reference", "scored_window", "RESULT_PREFIX", "SRF_SOURCES"]

#: The store's variable of each method after the first, whose result is the store's cube.
RESULT_PREFIX = "fused_"
#: Where the companion's spectral responses come from: its band centres and widths (Gaussian responses), or
#: the data (each method's own estimate).
SRF_SOURCES = ("bands", "estimate")


def _responses(hs: xr.DataArray, guide: xr.Dataset, srf: str, companion: str) -> np.ndarray | None:
    from ._base import band_responses

    if srf not in SRF_SOURCES:
        raise ConfigError(f"params.yaml [fuse]: srf={srf!r}; expected one of {list(SRF_SOURCES)}")
    if srf == "estimate":
        return None
    centres = guide["wavelength"].values if "wavelength" in guide.coords else None
    widths = guide["fwhm"].values if "fwhm" in guide.coords else None
    if centres is None or widths is None or not (np.isfinite(centres).all() and np.isfinite(widths).all()):
        raise ConfigError(f"{companion}: the companion's bands have no centres and widths (wavelength, fwhm) to "
                          "build its spectral responses from; set fuse.srf: estimate")
    return band_responses(hs["wavelength"].values, centres, widths)


def read_reference(path: str | os.PathLike[str], hs: xr.DataArray, shape: tuple[int, int],
                   window: tuple[slice, slice] | None = None) -> xr.DataArray:
    """The ``cube`` of the NetCDF/HDF5 file ``path``: the scene at the companion's resolution ``shape``, its bands
    those of ``hs`` (matched by wavelength: a reference keeps the bands that preprocessing removed); only its
    ``(y, x)`` ``window`` is read when one is given."""
    from ..._guard import check_hdf5, require_regular_file

    path = require_regular_file(path, "reference file")
    check_hdf5(path)
    try:
        with xr.open_dataset(path, engine="h5netcdf") as data:
            if "cube" not in data or data["cube"].dims != ("y", "x", "band"):
                raise FormatError(path, "cube", "a (y, x, band) variable 'cube'",
                                  data["cube"].dims if "cube" in data else sorted(data.data_vars))
            cube = data["cube"]
            if cube.shape[:2] != shape:
                raise FormatError(path, "cube", f"{shape[0]} x {shape[1]} pixels (the companion's grid)",
                                  cube.shape[:2])
            wavelength = cube["wavelength"].values if "wavelength" in cube.coords else None
            wanted = hs["wavelength"].values
            if wavelength is None or not np.isin(wanted, wavelength).all():
                raise FormatError(path, "wavelength", f"every band of the scene ({len(wanted)} wavelengths)",
                                  "none" if wavelength is None else f"{int(np.isin(wanted, wavelength).sum())} of them")
            index = {float(w): i for i, w in enumerate(wavelength)}
            rows, cols = window or (slice(None), slice(None))
            return cube.isel(y=rows, x=cols, band=[index[float(w)] for w in wanted]).load()
    except SpectraflowError:
        raise
    except (OSError, ValueError, TypeError) as exc:  # h5netcdf's errors for an HDF5 file that is not NetCDF
        raise FormatError(path, "structure", "a NetCDF-4 file with a 'cube' variable",
                          f"{type(exc).__name__}: {exc}") from None


def scored_window(shape: tuple[int, int], ratio: int, side: int | None) -> tuple[slice, slice]:
    """The window of a ``shape`` coarse grid that the fuse stage scores, on the fine grid ``ratio`` times finer: the
    central ``side // ratio`` coarse pixels along each axis (the whole axis when it is shorter, or ``side`` is
    None)."""
    if side is not None and (isinstance(side, bool) or not isinstance(side, int) or side < 1):
        raise ConfigError(f"fuse score_window={side!r}; expected a positive number of fine pixels or null")

    def central(size: int) -> slice:
        keep = size if side is None else min(size, max(1, side // ratio))
        start = (size - keep) // 2
        return slice(start * ratio, (start + keep) * ratio)

    return central(shape[0]), central(shape[1])


def coarse_window(fine: tuple[slice, slice], ratio: int) -> tuple[slice, slice]:
    """The coarse-grid window under the fine-grid window ``fine`` (:func:`scored_window`'s, whole coarse pixels)."""
    return slice(fine[0].start // ratio, fine[0].stop // ratio), slice(fine[1].start // ratio, fine[1].stop // ratio)


def _wald(fuser: Any, hs: xr.DataArray, guide: xr.DataArray, ratio: int, srf: np.ndarray | None,
          gain: float) -> dict[str, float]:
    """Wald's protocol on the pair: both degraded by the ratio, fused, scored against the scene."""
    from ...metrics import fusion_scores
    from ._base import degrade

    height, width = (hs.shape[0] // ratio) * ratio, (hs.shape[1] // ratio) * ratio
    target = np.asarray(hs.values[:height, :width], dtype=np.float64)
    low = xr.DataArray(degrade(target, ratio, gain), dims=("y", "x", "band"))
    guide_low = xr.DataArray(degrade(np.asarray(guide.values[:height * ratio, :width * ratio], dtype=np.float64),
                                     ratio, gain), dims=guide.dims)
    estimate = fuser.fuse(low, guide_low, srf)
    return fusion_scores(estimate.values, target, ratio, data_range=float(target.max()))


def fuse_store(source: str | os.PathLike[str], companion: str | os.PathLike[str], dest: str | os.PathLike[str], *,
               methods: Sequence[Any] = ("mtf_glp",), steps: Sequence[Any] = (), srf: str = "bands",
               reference: str | os.PathLike[str] | None = None,
               score_window: int | None = None) -> tuple[Path, dict[str, Any]]:
    """Sharpen the scene of store ``source`` with the image of store ``companion`` (a finer, co-registered image
    of the same ground: one band for a panchromatic image, a few for a multispectral one) by every method of
    ``methods`` (``params.yaml`` entries); write the fused cubes to ``dest`` on the companion's grid; return
    ``dest`` and the metrics, scored on :func:`scored_window` (see the module's docstring). Each method's seconds
    are its scene-wide fit's and the scored window's fusion (its other tiles are fused as the store is written).

    ``steps`` is the scene's preprocessing chain (``radiometric`` and ``bad_bands`` for physical units and
    clean bands); the companion is brought to physical units. The first method's result is the store's
    ``cube``, the others are ``fused_<name>``. Invalid pixels of either image are filled for the methods (and
    scored as filled) and NaN in the store.
    """
    from ..._atomic import check_replaceable
    from ..._progress import log_line
    from ...config import method_entries
    from ...cube import CUBE, fill_invalid
    from ...io import open_store, write_store
    from ...metrics import fusion_scores, qnr
    from ...preprocess import parse_steps, run_chain
    from .. import build, method_params
    from ._base import DEFAULT_MTF_GAIN, resolution_ratio

    check_replaceable(dest, "fused")  # before any work
    specs = method_entries(methods, "fuse", "fusion method entries")
    fusers = [build("fuse", spec, f"fuse.methods[{i}]") for i, spec in enumerate(specs)]
    names = [type(f).name for f in fusers]
    if len(set(names)) != len(names):
        raise ConfigError(f"params.yaml [fuse.methods]: {names}; expected the methods each once")
    scene = run_chain(open_store(source), parse_steps(steps))
    guide_scene = run_chain(open_store(companion), parse_steps([{"radiometric": {}}]))
    # the pair, its bands and the window checked before the first pass over the data (the nodata search)
    ratio = resolution_ratio(scene[CUBE].shape, guide_scene[CUBE].shape, f"companion {companion} of scene {source}")
    responses = _responses(scene[CUBE], guide_scene, srf, str(companion))
    fine = scored_window(scene[CUBE].shape[:2], ratio, score_window)
    hs, hs_valid = fill_invalid(scene[CUBE])  # lazy: read as the fused store is written
    guide, guide_valid = fill_invalid(guide_scene[CUBE])
    guide_image = guide.isel(band=0, drop=True) if guide.sizes["band"] == 1 else guide
    coarse = coarse_window(fine, ratio)
    hs_scored = hs.isel(y=coarse[0], x=coarse[1]).load()
    guide_scored = guide_image.isel(y=fine[0], x=fine[1]).load()
    truth = None if reference is None else read_reference(reference, hs, guide.shape[:2], fine)
    valid = xr.DataArray(np.ones(guide.shape[:2], dtype=bool), dims=("y", "x"))
    if hs_valid is not None:
        valid &= np.kron(hs_valid.values, np.ones((ratio, ratio), dtype=bool))
    if guide_valid is not None:
        valid &= guide_valid.values
    metrics: dict[str, Any] = {"ratio": ratio, "companion_bands": int(guide.sizes["band"]),
                               "scored_pixels": guide_scored.shape[0] * guide_scored.shape[1]}
    results = {}
    for fuser in fusers:
        gain = getattr(fuser, "mtf_gain", DEFAULT_MTF_GAIN)
        start = time.perf_counter()
        fused = fuser.fuse(hs, guide_image, responses)
        estimate = fused.isel(y=fine[0], x=fine[1]).values
        seconds = time.perf_counter() - start
        scores: dict[str, Any] = {"full": qnr(estimate, hs_scored.values, guide_scored.values, ratio, mtf_gain=gain),
                                  "reduced": _wald(fuser, hs_scored, guide_scored, ratio, responses, gain)}
        if truth is not None:
            scores["reference"] = fusion_scores(estimate, truth.values, ratio, data_range=float(truth.max()))
        metrics[fuser.name] = {**scores, "seconds": seconds}
        shown = scores.get("reference", scores["reduced"])
        log_line(f"fuse {Path(source).parent.name}: {fuser.name} done in {seconds:.1f} s, PSNR {shown['psnr']:.2f} dB "
                 f"({'against the reference' if truth is not None else 'reduced resolution'})")
        results[fuser.name] = fused.astype(np.float32).where(valid)
    first, *others = names
    coords = {k: v for k, v in scene.coords.items() if v.dims == ("band",)}
    out = xr.Dataset({CUBE: results[first], **{f"{RESULT_PREFIX}{n}": results[n] for n in others}}, coords=coords)
    out.attrs.update({k: v for k, v in scene.attrs.items() if isinstance(v, str | int | float)})
    out.attrs.update(input_store=str(source), companion_store=str(companion), resolution_ratio=ratio,
                     scored_window=json.dumps({"y": [fine[0].start, fine[0].stop], "x": [fine[1].start, fine[1].stop]}),
                     fusion=json.dumps([{"name": f.name, "params": method_params(f)} for f in fusers]))
    return write_store(out, dest, kind="fused"), metrics
