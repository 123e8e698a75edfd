"""Writers of small files in each supported format, for tests and benchmarks (never used to ingest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_mat_v5", "write_mat_v73", "write_netcdf", "write_hdf5", "write_geotiff", "write_npy",
           "write_emit_l2a"]


def write_mat_v5(path: Path, variables: dict[str, np.ndarray]) -> Path:
    """MATLAB v5 file; arrays are given in MATLAB axis order."""
    import scipy.io

    scipy.io.savemat(path, variables)
    return path


def write_mat_v73(path: Path, variables: dict[str, np.ndarray]) -> Path:
    """MATLAB v7.3 (HDF5 with the 512-byte MATLAB user block); arrays given in MATLAB axis order."""
    import h5py

    with h5py.File(path, "w", userblock_size=512) as f:
        for key, value in variables.items():
            value = np.asarray(value)
            f.create_dataset(key, data=value.T)  # HDF5 sees MATLAB's column-major arrays transposed
            matlab_class = {"f": "double", "i": "int16", "u": "uint16"}.get(value.dtype.kind, "double")
            f[key].attrs["MATLAB_class"] = np.bytes_(matlab_class)
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: spectraflow test".ljust(116)
    header = text + b"\x00" * 8 + b"\x00\x02IM"  # subsystem offset, version 0x0200, endian indicator
    with open(path, "r+b") as f:
        f.write(header)
    return path


def write_netcdf(path: Path, cube: np.ndarray, wavelength: np.ndarray | None,
                 dims: tuple[str, str, str] = ("y", "x", "band"), band_axis: int = 2,
                 format: str = "NETCDF4") -> Path:
    """NetCDF with a ``reflectance`` variable and (optionally) a wavelength coordinate in micrometres.

    ``cube`` is stored with ``dims`` as given; ``band_axis`` says which of them is spectral.
    """
    import xarray as xr

    ds = xr.Dataset({"reflectance": (dims, cube)})
    if wavelength is not None:
        ds["wavelength"] = (dims[band_axis], wavelength / 1000.0, {"units": "micrometers"})
    if format == "NETCDF4":
        ds.to_netcdf(path, engine="h5netcdf")
    else:
        ds.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")
    return path


def write_hdf5(path: Path, cube: np.ndarray) -> Path:
    """A plain HDF5 file (no NetCDF dimension scales) with one 3-D dataset ``data``."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=cube)
    return path


def write_geotiff(path: Path, cube: np.ndarray, wavelength: np.ndarray | None, crs: str = "EPSG:32611",
                  origin: tuple[float, float] = (500000.0, 4100000.0), pixel: float = 30.0) -> Path:
    """A band-interleaved GeoTIFF with per-band wavelength tags and a UTM transform."""
    import rasterio
    from rasterio.transform import from_origin

    ny, nx, nb = cube.shape
    with rasterio.open(path, "w", driver="GTiff", height=ny, width=nx, count=nb, dtype=cube.dtype, crs=crs,
                       transform=from_origin(origin[0], origin[1], pixel, pixel)) as dst:
        dst.write(np.moveaxis(cube, 2, 0))
        if wavelength is not None:
            for i, wl in enumerate(wavelength, start=1):
                dst.update_tags(i, wavelength=f"{wl:.6f}", wavelength_units="nm")
    return path


def write_npy(path: Path, cube: np.ndarray, fortran: bool = False) -> Path:
    np.save(path, np.asfortranarray(cube) if fortran else np.ascontiguousarray(cube))
    return path


def write_emit_l2a(path: Path, reflectance: np.ndarray, wavelengths: np.ndarray, fwhm: np.ndarray,
                   good: np.ndarray, start: str = "2023-03-16T04:51:33+0000") -> Path:
    """A file laid out as NASA's EMIT L2A reflectance product (``EMIT_L2A_RFL_001_*.nc``, NetCDF-4), written
    from the product's public description: ``reflectance (downtrack, crosstrack, bands)`` float32 with
    ``_FillValue`` -9999, groups ``sensor_band_parameters`` (``wavelengths``, ``fwhm`` in nm,
    ``good_wavelengths`` 1/0) and ``location`` (``lat``, ``lon``, ``elev``, ``glt_x``, ``glt_y``), and the
    global attributes ``sensor``, ``platform``, ``time_coverage_start``. NaN in ``reflectance`` is written
    as the fill value."""
    import xarray as xr

    ny, nx, nb = reflectance.shape
    swath = ("downtrack", "crosstrack")
    data = np.where(np.isfinite(reflectance), reflectance, -9999.0).astype(np.float32)
    root = xr.Dataset(
        {"reflectance": (("downtrack", "crosstrack", "bands"), data,
                         {"long_name": "Surface Reflectance", "units": "unitless"})},
        attrs={"ncei_template_version": "NCEI_NetCDF_Swath_Template_v2.0", "title": "EMIT L2A Surface "
               "Reflectance, 60 m, V001", "sensor": "EMIT (Earth Surface Mineral Dust Source Investigation)",
               "instrument": "EMIT", "platform": "ISS", "time_coverage_start": start,
               "product_version": "V001"})
    root["reflectance"].encoding["_FillValue"] = np.float32(-9999.0)
    bands = xr.Dataset({"wavelengths": ("bands", wavelengths.astype(np.float32), {"units": "nm"}),
                        "fwhm": ("bands", fwhm.astype(np.float32), {"units": "nm"}),
                        "good_wavelengths": ("bands", good.astype(np.uint8))})
    lat, lon = np.meshgrid(np.linspace(30.0, 30.1, ny), np.linspace(-110.0, -109.9, nx), indexing="ij")
    location = xr.Dataset({"lat": (swath, lat), "lon": (swath, lon), "elev": (swath, np.zeros((ny, nx))),
                           "glt_x": (("ortho_y", "ortho_x"), np.zeros((ny, nx), np.int32)),
                           "glt_y": (("ortho_y", "ortho_x"), np.zeros((ny, nx), np.int32))})
    root.to_netcdf(path, engine="h5netcdf")
    bands.to_netcdf(path, mode="a", group="sensor_band_parameters", engine="h5netcdf")
    location.to_netcdf(path, mode="a", group="location", engine="h5netcdf")
    return path
