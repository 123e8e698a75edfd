"""GeoTIFF and Cloud-Optimised GeoTIFF, through rioxarray (rasterio/GDAL).

The CRS and affine transform are kept in a ``spatial_ref`` coordinate (``crs_wkt``, ``GeoTransform``) with
``y``/``x`` map coordinates, as rioxarray writes them, so ``scene.rio.crs`` works after a round-trip through
the store. Per-band GDAL metadata, as ENVI, the EnMAP-Box and L2 products (EnMAP L2A) write them, fills the
data model: ``wavelength``/``fwhm`` tags become coordinates (``wavelength_units`` in micrometres converted to
nanometres), ``bbl`` (bad-band list, 0 = bad) becomes ``good_band``, the bands' ``SCALE``/``OFFSET`` become
``data_scale``/``data_offset`` (one value for all bands, else refused: the data model has one scale), the
GDAL nodata value ``nodata``, and the dataset's ``start_time`` (or ``TIFFTAG_DATETIME``) ``acquired``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._guard import check_declared_size, require_regular_file
from ..cube import make_scene, provenance_attrs
from ..errors import FormatError
from ._base import ChunkSpec, Reader, readers, source_entries, wanted_chunks

__all__ = ["GeoTiffReader"]


@readers.register("geotiff")
class GeoTiffReader(Reader):
    """GeoTIFF / COG, keeping CRS and transform."""

    version = "1.1"  # 1.1: bbl, OFFSET and the acquisition time
    extensions = (".tif", ".tiff", ".gtiff")

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError:
            return False
        return head in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")

    def open(self, path: Path, *, chunks: ChunkSpec = None, name: str | None = None,
             **options: Any) -> xr.Dataset:
        self.reject_options(path, options)
        import rasterio
        import rioxarray

        require_regular_file(path)
        # GDAL reads only the named file: no .aux.xml / .ovr / .msk sidecars, no directory listing
        with rasterio.Env(GDAL_PAM_ENABLED="NO", GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"):
            try:
                with rasterio.open(path) as src:
                    itemsize = max(np.dtype(d).itemsize for d in src.dtypes)
                    check_declared_size(path, "height x width x bands", (src.height, src.width, src.count), itemsize)
                    tags = [src.tags(i) for i in range(1, src.count + 1)]
                    scale = _one_value(path, "SCALE", src.scales, 1.0)
                    offset = _one_value(path, "OFFSET", src.offsets, 0.0)
                    dataset_tags = src.tags()
                # opened lazily without dask first: the shape decides the chunks, then xarray chunks the lazy array
                array = rioxarray.open_rasterio(path, lock=False, mask_and_scale=False)
            except rasterio.errors.RasterioError as exc:
                raise FormatError(path, "structure", "a readable GeoTIFF", str(exc)) from None
        if isinstance(array, list) or array.ndim != 3:
            raise FormatError(path, "layout", "a single multi-band raster", type(array).__name__)
        cube = array.transpose("y", "x", "band")
        cube = cube.chunk(wanted_chunks(chunks, cube.shape, cube.dtype.itemsize, path))
        bbl = _tag_vector(path, tags, "bbl")
        scene = make_scene(
            cube.data,
            wavelength=_tag_vector(path, tags, "wavelength"),
            fwhm=_tag_vector(path, tags, "fwhm"),
            good_band=None if bbl is None else bbl != 0,
            units=str(array.attrs.get("units", "unknown")),
            data_scale=1.0 / scale,
            data_offset=offset,
            nodata=array.rio.nodata,
            acquired=dataset_tags.get("start_time") or dataset_tags.get("TIFFTAG_DATETIME"),
            source=str(path),
            attrs=provenance_attrs(name or path.stem, source_entries([path]), self.name,
                                   f"{self.version}; rioxarray {rioxarray.__version__}, "
                                   f"rasterio {rasterio.__version__}"),
        )
        return scene.assign_coords(y=cube["y"].values, x=cube["x"].values,
                                   spatial_ref=array["spatial_ref"])


def _one_value(path: Path, field: str, values: tuple[float, ...], default: float) -> float:
    """The bands' common GDAL ``SCALE`` or ``OFFSET`` (``default`` when unset); refused if bands differ."""
    numbers = {default if v is None else float(v) for v in values} or {default}
    if len(numbers) > 1:
        raise FormatError(path, field, "one value for every band", f"{len(numbers)} different values")
    value = numbers.pop()
    if not np.isfinite(value) or (field == "SCALE" and value == 0):
        raise FormatError(path, field, "a finite number" + (", not 0" if field == "SCALE" else ""), value)
    return value


def _tag_vector(path: Path, tags: list[dict[str, str]], key: str) -> np.ndarray | None:
    """The per-band ``key`` tag as numbers (nm), None when a band lacks it; a tag that is there must parse."""
    values = []
    for band, band_tags in enumerate(tags, start=1):
        lowered = {k.lower(): v for k, v in band_tags.items()}
        if key not in lowered:
            return None
        try:
            values.append(float(lowered[key]))
        except ValueError:
            raise FormatError(path, f"band {band} {key} tag", "a number", lowered[key]) from None
        if not np.isfinite(values[-1]):
            raise FormatError(path, f"band {band} {key} tag", "a finite number", lowered[key])
        unit = lowered.get("wavelength_units", "nm").lower()
        if key != "bbl" and unit in ("micrometers", "micrometer", "um", "microns", "µm"):
            values[-1] *= 1000.0
    return np.array(values)
