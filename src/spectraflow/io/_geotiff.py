"""GeoTIFF and Cloud-Optimised GeoTIFF, through rioxarray (rasterio/GDAL).

The CRS and affine transform are kept in a ``spatial_ref`` coordinate (``crs_wkt``, ``GeoTransform``) with
``y``/``x`` map coordinates, as rioxarray writes them, so ``scene.rio.crs`` works after a round-trip through
the store. Per-band ``wavelength``/``fwhm`` tags (GDAL metadata, as ENVI and many L2 products write them)
become coordinates; ``wavelength_units`` in micrometres are converted to nanometres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..cube import make_scene, provenance_attrs
from ..errors import FormatError
from ._base import ChunkSpec, Reader, readers, source_entries, wanted_chunks

__all__ = ["GeoTiffReader"]


@readers.register("geotiff")
class GeoTiffReader(Reader):
    """GeoTIFF / COG, keeping CRS and transform."""

    version = "1.0"
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

        try:
            # opened lazily without dask first: the shape decides the chunks, then xarray chunks the lazy array
            array = rioxarray.open_rasterio(path, lock=False, mask_and_scale=False)
            with rasterio.open(path) as src:
                tags = [src.tags(i) for i in range(1, src.count + 1)]
                scale = src.scales[0] if src.scales else 1.0
        except rasterio.errors.RasterioError as exc:
            raise FormatError(path, "structure", "a readable GeoTIFF", str(exc)) from None
        if isinstance(array, list) or array.ndim != 3:
            raise FormatError(path, "layout", "a single multi-band raster", type(array).__name__)
        cube = array.transpose("y", "x", "band")
        cube = cube.chunk(wanted_chunks(chunks, cube.shape, cube.dtype.itemsize))
        scene = make_scene(
            cube.data,
            wavelength=_tag_vector(tags, "wavelength"),
            fwhm=_tag_vector(tags, "fwhm"),
            units=str(array.attrs.get("units", "unknown")),
            data_scale=1.0 / scale if scale not in (0, 1) else 1.0,
            nodata=array.rio.nodata,
            source=str(path),
            attrs=provenance_attrs(name or path.stem, source_entries([path]), self.name,
                                   f"{self.version}; rioxarray {rioxarray.__version__}, "
                                   f"rasterio {rasterio.__version__}"),
        )
        return scene.assign_coords(y=cube["y"].values, x=cube["x"].values,
                                   spatial_ref=array["spatial_ref"])


def _tag_vector(tags: list[dict[str, str]], key: str) -> np.ndarray | None:
    values = []
    for band_tags in tags:
        lowered = {k.lower(): v for k, v in band_tags.items()}
        if key not in lowered:
            return None
        try:
            values.append(float(lowered[key]))
        except ValueError:
            return None
        unit = lowered.get("wavelength_units", "nm").lower()
        if unit in ("micrometers", "micrometer", "um", "microns", "µm"):
            values[-1] *= 1000.0
    return np.array(values)
