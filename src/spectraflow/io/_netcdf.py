"""HDF5 and NetCDF (3 and 4) files, through xarray (h5netcdf, or scipy for NetCDF-3).

The cube is ``variable=`` or else the largest 3-D numeric variable. Its dimensions are matched to
``(y, x, band)`` by name (``band``/``bands``/``wavelength``/``spectral`` → band; ``y``/``row``/``lines``/
``lat`` → y; ``x``/``col``/``samples``/``lon`` → x); unnamed HDF5 dimensions are taken as ``(y, x, band)``
unless ``dims=`` gives their order. A 1-D variable or coordinate named ``wavelength`` on the band
dimension becomes the wavelength coordinate (its ``units`` attribute honoured), likewise ``fwhm`` and
``good_band``/``bbl``; they are looked up in the root and then in a band-parameter group.

NASA EMIT L2A reflectance (``EMIT_L2A_RFL_*.nc``) reads as it is: ``reflectance (downtrack, crosstrack,
bands)`` with ``_FillValue`` −9999 as nodata, and the ``sensor_band_parameters`` group's ``wavelengths``,
``fwhm`` and ``good_wavelengths`` (1 = good) as the band coordinates; ``sensor`` and ``time_coverage_start``
become the cube's ``sensor`` and ``acquired``. The unorthorectified swath is kept (the ``location`` group's
geometry lookup table is not applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._guard import check_hdf5, require_regular_file
from ..cube import make_scene, provenance_attrs
from ..errors import FormatError
from ._base import ChunkSpec, Reader, readers, source_entries, wanted_chunks

__all__ = ["NetcdfReader"]

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ALIASES = {
    "band": ("band", "bands", "wavelength", "wavelengths", "spectral", "channel", "lambda"),
    "y": ("y", "row", "rows", "line", "lines", "lat", "latitude", "northing", "downtrack"),
    "x": ("x", "col", "cols", "column", "columns", "sample", "samples", "lon", "longitude", "easting",
          "crosstrack"),
}
#: Groups that hold per-band vectors beside the root's (EMIT: sensor_band_parameters).
_BAND_GROUPS = ("sensor_band_parameters",)
_UNIT_SCALE = {"nm": 1.0, "nanometers": 1.0, "nanometer": 1.0, "um": 1000.0, "micrometers": 1000.0,
               "micrometer": 1000.0, "microns": 1000.0, "µm": 1000.0}


def _hdf5_signature_at(head: bytes) -> bool:
    # HDF5 allows a user block: the signature may sit at 0, 512, 1024, 2048, ...
    return any(head[o : o + 8] == _HDF5_MAGIC for o in (0, 512, 1024, 2048))


@readers.register("netcdf")
class NetcdfReader(Reader):
    """HDF5 / NetCDF-4 / NetCDF-3 through xarray."""

    version = "1.1"  # 1.1: band vectors in a band-parameter group (EMIT L2A)
    extensions = (".nc", ".nc4", ".h5", ".hdf5", ".he5", ".cdf")

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            with open(path, "rb") as f:
                head = f.read(2056)
        except OSError:
            return False
        return head.startswith((b"CDF\x01", b"CDF\x02", b"CDF\x05")) or (
            _hdf5_signature_at(head) and not head.startswith(b"MATLAB"))

    def open(self, path: Path, *, chunks: ChunkSpec = None, name: str | None = None,
             **options: Any) -> xr.Dataset:
        self.reject_options(path, options, allowed=("variable", "dims"))
        with open(require_regular_file(path), "rb") as f:
            netcdf3 = f.read(3) == b"CDF"
        if not netcdf3:
            check_hdf5(path)  # no bytes from other files; no declared size the file cannot hold
        engine_kwargs: dict[str, Any] = {} if netcdf3 else {"phony_dims": "sort"}
        try:
            source = xr.open_dataset(path, engine="scipy" if netcdf3 else "h5netcdf", chunks={},
                                     mask_and_scale=False, **engine_kwargs)
        except Exception as exc:  # the engines raise many unrelated types for corrupt files
            raise FormatError(path, "structure", "a readable HDF5/NetCDF file",
                              f"{type(exc).__name__}: {exc}") from None
        variable = options.get("variable") or self._largest_cube(path, source)
        if variable not in source.variables:
            raise FormatError(path, "variable", f"one of {sorted(map(str, source.variables))}", variable)
        array = source[variable]
        if array.ndim != 3:
            raise FormatError(path, variable, "a 3-D variable", f"{array.ndim}-D {array.dims}")
        rename = self._dim_names(path, array.dims, options.get("dims"))
        array = array.rename(rename).transpose("y", "x", "band")
        band_dim = next(d for d, new in rename.items() if new == "band")
        wanted = wanted_chunks(chunks, array.shape, array.dtype.itemsize, path)
        data = array.data.rechunk(tuple(wanted[d] for d in ("y", "x", "band")))
        tables = [source, *([] if netcdf3 else self._band_groups(path))]
        scene = make_scene(
            data,
            wavelength=self._band_vector(path, tables, band_dim, ("wavelength", "wavelengths"), scaled=True),
            fwhm=self._band_vector(path, tables, band_dim, ("fwhm",), scaled=True),
            good_band=self._band_vector(path, tables, band_dim, ("good_band", "bbl", "good_wavelengths"),
                                        scaled=False),
            units=str(array.attrs.get("units", "unknown")),
            data_scale=1.0 / float(array.attrs.get("scale_factor", 1.0)),
            data_offset=float(array.attrs.get("add_offset", 0.0)),
            nodata=array.attrs.get("_FillValue", array.attrs.get("nodata")),
            sensor=str(array.attrs.get("sensor", source.attrs.get("sensor", "unknown"))),
            acquired=source.attrs.get("time_coverage_start"),
            source=str(path),
            attrs=provenance_attrs(name or path.stem, source_entries([path]), self.name,
                                   f"{self.version}; xarray {xr.__version__}"),
        )
        for key in ("endmembers", "abundances"):
            if key in source.data_vars and key != variable:
                scene[key] = source[key].rename({d: rename.get(d, d) for d in source[key].dims})
        if "endmember" in source.coords:
            scene = scene.assign_coords(endmember=source["endmember"].values)
        return scene

    @staticmethod
    def _largest_cube(path: Path, source: xr.Dataset) -> str:
        cubes = [k for k, v in source.data_vars.items() if v.ndim == 3 and v.dtype.kind in "iuf"]
        if not cubes:
            found = ", ".join(f"{k}{list(v.shape)}" for k, v in source.data_vars.items()) or "no variables"
            raise FormatError(path, "variables", "a 3-D numeric variable (y, x, band)", found)
        return str(max(cubes, key=lambda k: source[k].size))

    @staticmethod
    def _dim_names(path: Path, dims: Sequence[Any], order: Sequence[str] | None) -> dict[Any, str]:
        if order is not None:
            if sorted(order) != ["band", "x", "y"] or len(order) != 3:
                raise FormatError(path, "dims", "an ordering of ('y', 'x', 'band')", tuple(order))
            return dict(zip(dims, order, strict=True))
        mapping: dict[Any, str] = {}
        for dim in dims:
            for target, aliases in _ALIASES.items():
                if str(dim).lower() in aliases and target not in mapping.values():
                    mapping[dim] = target
        if len(mapping) == 3:
            return mapping
        if all(str(d).startswith("phony_dim") for d in dims):
            return dict(zip(dims, ("y", "x", "band"), strict=True))
        raise FormatError(path, "dimensions", "names recognisable as y, x and band, or dims=(...)", tuple(dims))

    @staticmethod
    def _band_groups(path: Path) -> list[xr.Dataset]:
        import h5netcdf

        with h5netcdf.File(path, "r") as handle:
            present = [g for g in _BAND_GROUPS if g in handle.groups]
        return [xr.open_dataset(path, engine="h5netcdf", group=g, mask_and_scale=False) for g in present]

    @staticmethod
    def _band_vector(path: Path, tables: Sequence[xr.Dataset], band_dim: Any, names: Sequence[str],
                     scaled: bool) -> np.ndarray | None:
        for key, source in ((k, t) for k in names for t in tables):
            if key in source.variables and source[key].dims == (band_dim,):
                values = np.asarray(source[key].values)
                if values.dtype.kind not in "iufb":
                    raise FormatError(path, key, "numbers",
                                      f"values of type {values.dtype}")
                if not scaled:
                    return values.astype(bool)
                values = values.astype(np.float64)
                if not np.isfinite(values).all():
                    raise FormatError(path, key, "finite numbers",
                                      f"{int((~np.isfinite(values)).sum())} NaN/inf values")
                units = str(source[key].attrs.get("units", "nm")).lower()
                return values * _UNIT_SCALE.get(units, 1.0)
        return None
