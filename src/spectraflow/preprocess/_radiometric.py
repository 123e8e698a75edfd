"""Radiometric conversion: stored values → physical units, with missing samples carried as a mask."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..cube import CUBE, physical_values
from ._spectra import map_spectra, replace_cube

__all__ = ["to_physical", "VALID"]

VALID = "valid"  # (y, x) bool: the pixel has a finite value in every good band


def to_physical(scene: xr.Dataset, *, gain: float = 1.0, offset: float = 0.0,
                dtype: str = "float32") -> xr.Dataset:
    """Convert the cube to physical values: ``gain * (stored / data_scale + data_offset) + offset``, as ``dtype``.

    The cube's ``data_scale`` and ``data_offset`` say how stored values map to physical ones (an ENVI
    ``reflectance scale factor`` or GDAL's ``SCALE``/``OFFSET`` make DN into reflectance); ``gain``/``offset``
    add a calibration of your own. Samples equal to the cube's ``nodata`` value, and non-finite samples, become
    NaN, and the dataset gains a ``valid`` ``(y, x)`` mask (``False`` where any good band is missing) that later
    steps and the statistics honour.
    """
    cube = scene[CUBE]
    nodata = cube.attrs.get("nodata")
    out_dtype = np.dtype(dtype)

    def convert(block: np.ndarray) -> np.ndarray:
        return physical_values(block, cube.attrs, gain=gain, offset=offset, dtype=out_dtype)

    data = map_spectra(cube, convert, dtype=out_dtype)
    attrs = {"data_scale": 1.0, "units": cube.attrs.get("units", "unknown")}
    if nodata is not None:
        attrs["nodata_converted"] = float(nodata)
    out = replace_cube(scene, data, attrs=attrs)
    out[CUBE].attrs.pop("nodata", None)
    out[CUBE].attrs.pop("data_offset", None)
    good = np.asarray(scene["good_band"].values, dtype=bool)
    finite = out[CUBE].isel(band=np.flatnonzero(good) if good.any() else slice(None)).notnull()
    return out.assign({VALID: finite.all("band")})
