"""The spectraflow data model: a hyperspectral cube and the ground truth that travels with it.

A *scene* is an :class:`xarray.Dataset` holding

``cube`` ``(y, x, band)``
    The image, in the dtype the instrument wrote (``int16`` DN, ``float32`` reflectance, ...). ``y`` is the
    image row (ENVI ``lines``), ``x`` the column (ENVI ``samples``).
coordinates on ``band``
    the band positions on the scene's *spectral axis* (float64; all-NaN when the source does not say), named
    after the axis: ``wavelength`` in nm for imaging spectrometers, ``energy_loss`` in eV for EELS spectrum
    images, ``wavenumber`` in cm⁻¹ for Raman/IR (:data:`SPECTRAL_AXES` is the one table of them; a scene has
    exactly one); ``fwhm`` (the bands' widths in the axis' units; present only when known) and ``good_band``
    (bool; ``False`` for bands the source flags as bad, e.g. ENVI ``bbl``).
``cube.attrs``
    ``units`` (of the stored values, ``"DN"`` or ``"reflectance"`` or ``"unknown"``), ``data_scale`` (divide
    the stored values by it to get physical units, 1.0 when none; deliberately not CF's ``scale_factor``,
    which xarray would apply as a multiplier when opening), ``data_offset`` (added after that division; absent
    when 0, as GDAL's ``OFFSET``), ``nodata`` (value marking missing samples, or absent), ``sensor``, and
    ``acquired`` (ISO-8601 start of the acquisition, when the source says).
``Dataset.attrs`` — provenance
    ``name``, ``source_file`` (file name of the primary input), ``source_sha256``, ``source_files`` (JSON list
    of ``{"name", "sha256", "size"}`` for every input file), ``reader`` and ``reader_version``,
    ``spectraflow_version``, ``created`` (ISO-8601 UTC).
ground truth, when the source has it, in the same dataset
    unmixing: ``endmembers (endmember, band)`` and ``abundances (y, x, endmember)``, with an ``endmember``
    coordinate of names; ``(y, x)`` masks such as ``anomaly_map`` or ``class_map``.

Geo-referenced sources add ``y``/``x`` coordinates and a ``spatial_ref`` variable (``crs_wkt``,
``GeoTransform``) in the CF convention rioxarray reads.

Non-finite samples: a float cube with NaN or inf is refused at ingest by default
(:class:`~spectraflow.errors.NonFiniteDataError`); with ``nonfinite="mask"`` NaN marks a missing sample, inf is
turned into NaN (NaN is then the nodata marker that preprocessing masks).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .errors import FormatError

__all__ = [
    "SpectralAxis",
    "SPECTRAL_AXES",
    "WAVELENGTH",
    "spectral_axis",
    "spectral_positions",
    "fill_invalid",
    "array_of",
    "CUBE",
    "DIMS",
    "make_scene",
    "validate_scene",
    "provenance_attrs",
    "source_entry",
]

CUBE = "cube"
DIMS = ("y", "x", "band")


@dataclass(frozen=True)
class SpectralAxis:
    """What a scene's ``band`` dimension measures: the name of its coordinate, the coordinate's units and
    the label figures put on it."""

    name: str
    units: str
    label: str

    def describe(self, positions: np.ndarray) -> str:
        """``"400.0–2500.0 nm"``, or ``"unknown"`` when no position is known."""
        known = np.asarray(positions, dtype=np.float64)
        known = known[np.isfinite(known)]
        return f"{known.min():.1f}–{known.max():.1f} {self.units}" if known.size else "unknown"


WAVELENGTH = SpectralAxis("wavelength", "nm", "wavelength (nm)")
#: Every spectral axis a scene may have, by the name of its coordinate.
SPECTRAL_AXES = {axis.name: axis for axis in (
    WAVELENGTH,
    SpectralAxis("energy_loss", "eV", "energy loss (eV)"),       # EELS
    SpectralAxis("wavenumber", "cm-1", "wavenumber (cm⁻¹)"),     # Raman / IR
)}


def spectral_axis(obj: xr.Dataset | xr.DataArray, source: str = "<scene>") -> SpectralAxis:
    """The spectral axis of a scene or of a variable with a ``band`` dimension (:class:`FormatError` naming
    ``source`` unless exactly one of :data:`SPECTRAL_AXES` is among its coordinates)."""
    found = [axis for name, axis in SPECTRAL_AXES.items() if name in obj.coords]
    if len(found) != 1:
        raise FormatError(source, "spectral axis",
                          f"exactly one band coordinate of {sorted(SPECTRAL_AXES)}", [a.name for a in found])
    return found[0]


def spectral_positions(obj: xr.Dataset | xr.DataArray) -> np.ndarray:
    """The band positions on the spectral axis, float64 (NaN where unknown)."""
    return np.asarray(obj[spectral_axis(obj).name].values, dtype=np.float64)


def fill_invalid(cube: xr.DataArray, valid: xr.DataArray | None = None) -> tuple[xr.DataArray, xr.DataArray | None]:
    """``(filled, valid)`` of a ``(y, x, band)`` cube (NumPy- or dask-backed; dask stays lazy).

    A pixel with a non-finite sample in any band (nodata, the edge of a tilted swath) is invalid and takes the
    valid pixels' mean spectrum: an interior point of the data that neither a spatial filter nor an endmember
    search mistakes for signal. ``valid`` is the ``(y, x)`` mask (in memory), None when every pixel is valid;
    pass it when it is known (a cube derived from one already checked) to save the pass that finds it. Methods
    run on ``filled``; their results are NaN again at invalid pixels and scores count valid pixels only.
    """
    if valid is None:
        valid = np.isfinite(cube).all("band").compute()
        if bool(valid.all()):
            return cube, None
    if not bool(valid.any()):
        raise ValueError("every pixel of the cube has a missing (non-finite) sample: nothing to process")
    mean = cube.where(valid).mean(("y", "x")).compute()  # once, not in every block that needs it
    return cube.where(valid, mean).astype(cube.dtype), valid


def array_of(obj: Any) -> Any:
    """The array behind an xarray object (NumPy or dask, still lazy), or ``obj`` itself when it is an array.

    (``getattr(obj, "data", obj)`` would not do: a NumPy array's ``.data`` is a memoryview.)
    """
    return obj.data if isinstance(obj, xr.DataArray | xr.Variable) else obj


def source_entry(name: str, sha256: str, size: int) -> dict[str, Any]:
    """One element of the ``source_files`` provenance list."""
    return {"name": name, "sha256": sha256, "size": int(size)}


def provenance_attrs(
    name: str,
    sources: Sequence[Mapping[str, Any]],
    reader: str,
    reader_version: str,
) -> dict[str, Any]:
    """Provenance attributes for a scene read from ``sources`` (primary source first)."""
    from . import __version__

    primary = sources[0] if sources else {"name": "", "sha256": ""}
    return {
        "name": name,
        "source_file": primary["name"],
        "source_sha256": primary["sha256"],
        "source_files": json.dumps([dict(s) for s in sources]),
        "reader": reader,
        "reader_version": reader_version,
        "spectraflow_version": __version__,
        **({"created": created} if (created := creation_time()) is not None else {}),
    }


#: Set (to the stage's name) in the process of a pipeline stage's command (``python -m flows.<stage>``).
STAGE_VARIABLE = "SPECTRAFLOW_STAGE"


def creation_time() -> str | None:
    """Now (UTC, ISO 8601), or ``$SOURCE_DATE_EPOCH`` where it is set (the reproducible-builds convention).
    None inside a pipeline stage's command (``$SPECTRAFLOW_STAGE`` set): what a DVC stage writes is a function of
    its inputs, so a rerun writes the same bytes, and git records when (the commit of its ``dvc.lock`` entry)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch and os.environ.get(STAGE_VARIABLE):
        return None
    when = _dt.datetime.fromtimestamp(int(epoch), _dt.UTC) if epoch else _dt.datetime.now(_dt.UTC)
    return when.isoformat(timespec="seconds")


def make_scene(
    data: Any,
    *,
    wavelength: Sequence[float] | np.ndarray | None = None,
    energy_loss: Sequence[float] | np.ndarray | None = None,
    wavenumber: Sequence[float] | np.ndarray | None = None,
    fwhm: Sequence[float] | np.ndarray | None = None,
    good_band: Sequence[bool] | np.ndarray | None = None,
    units: str = "unknown",
    data_scale: float = 1.0,
    data_offset: float = 0.0,
    nodata: float | None = None,
    sensor: str = "unknown",
    acquired: str | None = None,
    attrs: Mapping[str, Any] | None = None,
    source: str = "<memory>",
) -> xr.Dataset:
    """Build a scene from a ``(y, x, band)`` array (NumPy or dask).

    The band positions come under the name of their spectral axis (:data:`SPECTRAL_AXES`): ``wavelength`` in
    nm (the default axis, all-NaN when none is given), ``energy_loss`` in eV or ``wavenumber`` in cm⁻¹; at most
    one of them. ``fwhm`` is in the axis' units. Lengths are checked against the band count; ``source`` names
    the file in error messages.
    """
    if getattr(data, "ndim", None) != 3:
        raise FormatError(source, "shape", "a 3-D (y, x, band) array", getattr(data, "shape", None))
    if min(data.shape) < 1:
        raise FormatError(source, "shape", "at least one row, column and band", tuple(data.shape))
    n_bands = int(data.shape[2])
    given = {name: values for name, values in
             (("wavelength", wavelength), ("energy_loss", energy_loss), ("wavenumber", wavenumber))
             if values is not None}
    if len(given) > 1:
        raise FormatError(source, "spectral axis", "band positions on one axis", sorted(given))
    axis = SPECTRAL_AXES[next(iter(given), WAVELENGTH.name)]
    positions = np.asarray(given.get(axis.name, np.full(n_bands, np.nan)), dtype=np.float64)
    _check_band_vector(source, axis.name, positions, n_bands)
    coords: dict[str, Any] = {axis.name: ("band", positions, {"units": axis.units})}
    if fwhm is not None:
        fw = np.asarray(fwhm, dtype=np.float64)
        _check_band_vector(source, "fwhm", fw, n_bands)
        coords["fwhm"] = ("band", fw, {"units": axis.units})
    gb = np.ones(n_bands, dtype=bool) if good_band is None else np.asarray(good_band).astype(bool)
    _check_band_vector(source, "good_band", gb, n_bands)
    coords["good_band"] = ("band", gb)

    cube_attrs: dict[str, Any] = {"units": units, "data_scale": float(data_scale), "sensor": sensor}
    if data_offset:
        cube_attrs["data_offset"] = float(data_offset)
    if nodata is not None:
        cube_attrs["nodata"] = float(nodata)
    if acquired:
        cube_attrs["acquired"] = str(acquired)
    cube = xr.Variable(DIMS, data, attrs=cube_attrs)
    return xr.Dataset({CUBE: cube}, coords=coords, attrs=dict(attrs or {}))


def physical_values(stored: np.ndarray, attrs: Mapping[str, Any], *, gain: float = 1.0, offset: float = 0.0,
                    dtype: Any = np.float32) -> np.ndarray:
    """Stored samples in physical units, ``gain * (stored / data_scale + data_offset) + offset`` as ``dtype``,
    with the cube's ``nodata`` samples and non-finite results as NaN (``attrs``: the cube's attributes)."""
    kind = np.dtype(dtype).type
    data_scale = float(attrs.get("data_scale", 1.0)) or 1.0
    intercept = gain * float(attrs.get("data_offset", 0.0)) + offset
    values = stored.astype(dtype) * kind(gain / data_scale) + kind(intercept)
    nodata = attrs.get("nodata")
    if nodata is not None:
        values[stored == nodata] = np.nan
    values[~np.isfinite(values)] = np.nan
    return values


def _check_band_vector(source: str, field: str, values: np.ndarray, n_bands: int) -> None:
    if values.ndim != 1 or values.shape[0] != n_bands:
        raise FormatError(source, field, f"{n_bands} values (one per band)", f"{values.size} values")


def validate_scene(scene: xr.Dataset, source: str = "<scene>") -> xr.Dataset:
    """Check that ``scene`` follows the data model; return it unchanged or raise :class:`FormatError`."""
    if CUBE not in scene.data_vars:
        raise FormatError(source, CUBE, f"a data variable named {CUBE!r}", sorted(map(str, scene.data_vars)))
    cube = scene[CUBE]
    if cube.dims != DIMS:
        raise FormatError(source, "cube dims", str(DIMS), cube.dims)
    axis = spectral_axis(scene, source)
    for name in (axis.name, "good_band"):
        if name not in scene.coords or scene[name].dims != ("band",):
            raise FormatError(source, name, "a coordinate on the 'band' dimension")
    if "endmembers" in scene:
        if scene["endmembers"].dims != ("endmember", "band"):
            raise FormatError(source, "endmembers dims", "('endmember', 'band')", scene["endmembers"].dims)
    if "abundances" in scene:
        if scene["abundances"].dims != ("y", "x", "endmember"):
            raise FormatError(source, "abundances dims", "('y', 'x', 'endmember')", scene["abundances"].dims)
    return scene
