"""Every reader, run through the one conformance suite on fresh random data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spectraflow.io import readers, write_envi
from spectraflow.testing.readers import ReaderConformance
from spectraflow.testing.writers import (
    write_geotiff,
    write_hdf5,
    write_mat_v5,
    write_mat_v73,
    write_netcdf,
    write_npy,
)

ENVI_DTYPES = ("uint8", "int16", "int32", "float32", "float64", "uint16")


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("byte_order", [0, 1])
class TestEnvi(ReaderConformance):
    reader_name = "envi"
    dtypes = ENVI_DTYPES
    single_file = False

    @pytest.fixture(autouse=True)
    def _layout(self, interleave: str, byte_order: int) -> None:
        self.interleave, self.byte_order = interleave, byte_order

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        header, raw = write_envi(directory / "scene.img", cube, interleave=self.interleave,
                                 byte_order=self.byte_order, wavelength=wavelength, header_offset=128,
                                 header_name="raw.img.hdr" if self.byte_order else "raw.hdr")
        return raw


class TestMatlabV5Cube(ReaderConformance):
    reader_name = "matlab"
    dtypes = ("float64", "float32", "int16", "uint16")

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        return write_mat_v5(directory / "cube.mat", {"img": cube, "wavelength": wavelength})


class TestMatlabV73Cube(ReaderConformance):
    reader_name = "matlab"
    dtypes = ("float64", "int16")

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        return write_mat_v73(directory / "cube.mat", {"img": cube, "wavelength": wavelength})


def _unmixing_matrix(cube: np.ndarray) -> np.ndarray:
    """bands x pixels, pixels in MATLAB column-major order, built independently of the reader."""
    rows, cols, bands = cube.shape
    matrix = np.empty((bands, rows * cols), cube.dtype)
    for r in range(rows):
        for c in range(cols):
            matrix[:, c * rows + r] = cube[r, c]
    return matrix


class TestMatlabV5Unmixing(ReaderConformance):
    reader_name = "matlab"
    dtypes = ("float64", "uint16")

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        rows, cols, bands = cube.shape
        return write_mat_v5(directory / "scene.mat", {"V": _unmixing_matrix(cube), "nRow": np.uint8(rows),
                                                      "nCol": np.uint8(cols), "wavelength": wavelength})


class TestMatlabV73Unmixing(ReaderConformance):
    reader_name = "matlab"
    dtypes = ("float64",)

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        rows, cols, bands = cube.shape
        return write_mat_v73(directory / "scene.mat", {"Y": _unmixing_matrix(cube), "nRow": np.array([[rows]]),
                                                       "nCol": np.array([[cols]]), "wavelength": wavelength})


class TestNetcdf4(ReaderConformance):
    reader_name = "netcdf"
    dtypes = ("float32", "int16", "float64")

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        # stored (band, row, col) with the wavelength in micrometres: the reader must reorder and convert
        return write_netcdf(directory / "scene.nc", np.ascontiguousarray(cube.transpose(2, 0, 1)), wavelength,
                            dims=("wavelength", "lines", "samples"), band_axis=0)


class TestNetcdf3(ReaderConformance):
    reader_name = "netcdf"
    dtypes = ("float32", "int16")

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        return write_netcdf(directory / "scene.nc", cube, wavelength, format="NETCDF3_64BIT")


class TestPlainHdf5(ReaderConformance):
    reader_name = "netcdf"
    dtypes = ("float32", "uint16")
    carries_wavelength = False

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        return write_hdf5(directory / "scene.h5", cube)


class TestGeoTiff(ReaderConformance):
    reader_name = "geotiff"
    dtypes = ("float32", "int16", "uint16")

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        return write_geotiff(directory / "scene.tif", cube, wavelength)


@pytest.mark.parametrize("fortran", [False, True])
class TestNpy(ReaderConformance):
    reader_name = "npy"
    dtypes = ("float32", "int16", "float64")
    carries_wavelength = False

    @pytest.fixture(autouse=True)
    def _order(self, fortran: bool) -> None:
        self.fortran = fortran

    def write(self, directory: Path, cube: np.ndarray, wavelength: np.ndarray) -> Path:
        return write_npy(directory / "scene.npy", cube, fortran=self.fortran)


def test_every_registered_reader_has_a_conformance_class() -> None:
    covered = {cls.reader_name for cls in globals().values()
               if isinstance(cls, type) and issubclass(cls, ReaderConformance) and cls is not ReaderConformance}
    # the microscopy formats (their spectra on an energy-loss or wavenumber axis; DigitalMicrograph and Velox are
    # written by no library, HyperSpy by RosettaSciIO): tested on real and written files in test_microscopy.py
    microscopy = {"dm", "emd", "hspy"}
    assert covered | microscopy == set(readers.names()) and not covered & microscopy
