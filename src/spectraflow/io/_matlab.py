"""MATLAB ``.mat`` files: v5 (through SciPy) and v7.3 (HDF5, through h5py).

Two layouts are recognised:

- a 3-D numeric array ``(rows, cols, bands)``, the usual image cube;
- the unmixing convention: a 2-D ``bands x pixels`` (or ``pixels x bands``) matrix with scalar ``nRow`` and
  ``nCol`` beside it, pixels in MATLAB's column-major order (pixel ``j`` at ``row = j % nRow``,
  ``col = j // nRow``).

``variable=`` picks the cube when a file holds several; otherwise the largest 3-D array wins, then the
matrix. A 1-D variable named ``wavelength``/``wavelengths``/``wl`` of the right length becomes the
wavelength coordinate (nanometres, or micrometres when all values are below 100). Other ``(rows, cols)``
arrays (class or anomaly maps) are kept as ``(y, x)`` variables under their own names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._guard import check_declared_size, check_hdf5, format_error_from_os, require_regular_file
from ..cube import CUBE, make_scene, provenance_attrs
from ..errors import FormatError
from ._base import ChunkSpec, Reader, readers, source_entries, wanted_chunks

__all__ = ["MatlabReader", "pixels_to_cube"]

_V5_MAGIC = b"MATLAB 5.0 MAT-file"
_V73_MAGIC = b"MATLAB 7.3 MAT-file"
_WAVELENGTH_NAMES = ("wavelength", "wavelengths", "wl", "wavelength_nm")
#: bytes per element of the MATLAB classes a cube may have (as ``scipy.io.whosmat`` names them)
_CLASS_BYTES = {"double": 8, "single": 4, "int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint8": 1, "uint16": 2,
                "uint32": 4, "uint64": 8, "logical": 1}


def pixels_to_cube(matrix: np.ndarray, n_row: int, n_col: int) -> np.ndarray:
    """``pixels x bands`` matrix, pixels column-major, → ``(rows, cols, bands)`` cube."""
    return matrix.reshape(n_col, n_row, matrix.shape[1]).transpose(1, 0, 2)


class _MatFile:
    """Variables of a .mat file in MATLAB's axis order, loaded on demand."""

    def __init__(self, path: Path) -> None:
        self.path = require_regular_file(path)
        with open(path, "rb") as f:
            head = f.read(128)
        self.v73 = head.startswith(_V73_MAGIC)
        if self.v73:
            import h5py

            check_hdf5(path)  # every variable stored in the file, every declared size one it can hold
            self._h5 = h5py.File(path, "r")
            self.shapes = {
                k: tuple(reversed(v.shape)) for k, v in self._h5.items()
                if isinstance(v, h5py.Dataset) and v.dtype.kind in "iufb"
            }
        else:
            import scipy.io

            try:
                whos = scipy.io.whosmat(path)
            except Exception as exc:  # scipy raises assorted errors on corrupt files
                raise FormatError(path, "MATLAB v5 structure", "a readable MAT-file", str(exc)) from None
            self.shapes = {name: tuple(shape) for name, shape, cls in whos if cls in _CLASS_BYTES}
            for name, shape, cls in whos:  # before anything is loaded: a compressed variable may claim any size
                if cls in _CLASS_BYTES:
                    check_declared_size(path, name, shape, _CLASS_BYTES[cls])

    def load(self, name: str) -> np.ndarray:
        """Variable ``name`` as a NumPy array in MATLAB axis order (real numbers only)."""
        try:
            if self.v73:
                values = np.asarray(self._h5[name][()]).T
            else:
                import scipy.io

                values = np.asarray(scipy.io.loadmat(self.path, variable_names=[name])[name])
        except OSError as exc:
            raise format_error_from_os(self.path, name, "a readable MATLAB variable", exc) from None
        except Exception as exc:  # scipy and h5py raise assorted errors on corrupt data
            raise FormatError(self.path, name, "a readable MATLAB variable", f"{type(exc).__name__}: {exc}") from None
        if np.iscomplexobj(values):
            raise FormatError(self.path, name, "real numbers (spectral data are not complex)", str(values.dtype))
        return values

    def scalar(self, name: str) -> int | None:
        """The positive integer held by scalar variable ``name`` (``nRow``, ``nCol``), None when absent."""
        if name not in self.shapes or int(np.prod(self.shapes[name])) != 1:
            return None
        value = float(np.asarray(self.load(name)).ravel()[0])
        if not np.isfinite(value) or value < 1 or value != int(value):
            raise FormatError(self.path, name, "a positive integer", value)
        return int(value)

    def close(self) -> None:
        if self.v73:
            self._h5.close()


@readers.register("matlab")
class MatlabReader(Reader):
    """MATLAB ``.mat`` v5 and v7.3 cubes and unmixing matrices."""

    version = "1.0"
    extensions = (".mat",)

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            with open(path, "rb") as f:
                head = f.read(128)
        except OSError:
            return False
        return head.startswith((_V5_MAGIC, _V73_MAGIC))

    def open(self, path: Path, *, chunks: ChunkSpec = None, name: str | None = None,
             **options: Any) -> xr.Dataset:
        self.reject_options(path, options, allowed=("variable", "wavelength"))
        mat = _MatFile(path)
        try:
            cube_name, cube = self._cube(mat, options.get("variable"))
            rows, cols, bands = cube.shape
            wavelength = options.get("wavelength")
            if wavelength is None:
                wavelength = self._wavelength(mat, bands)
            masks = {k: mat.load(k) for k, s in mat.shapes.items()
                     if s == (rows, cols) and k != cube_name and k.isidentifier() and k != CUBE}
            version = "7.3 (h5py)" if mat.v73 else "5 (scipy)"
        finally:
            mat.close()
        import dask.array as da

        data = da.from_array(np.ascontiguousarray(cube), chunks=tuple(
            wanted_chunks(chunks, cube.shape, cube.dtype.itemsize, path).values()))
        units = "DN" if cube.dtype.kind in "iu" else "unknown"
        scene = make_scene(
            data, wavelength=wavelength, units=units, source=str(path),
            attrs=provenance_attrs(name or path.stem, source_entries([path]), self.name,
                                   f"{self.version}; MAT-file v{version}"),
        )
        scene.cube.attrs["matlab_variable"] = cube_name
        for key, value in masks.items():
            scene[key] = (("y", "x"), value)
        return scene

    def _cube(self, mat: _MatFile, variable: str | None) -> tuple[str, np.ndarray]:
        shapes = mat.shapes
        if variable is not None:
            if variable not in shapes:
                raise FormatError(mat.path, "variable", f"one of {sorted(shapes)}", variable)
            candidates = [variable]
        else:
            candidates = sorted((k for k, s in shapes.items() if len(s) == 3),
                                key=lambda k: -int(np.prod(shapes[k])))
            candidates += sorted((k for k, s in shapes.items() if len(s) == 2 and min(s) > 1),
                                 key=lambda k: -int(np.prod(shapes[k])))
        n_row, n_col = mat.scalar("nRow"), mat.scalar("nCol")
        for key in candidates:
            shape = shapes[key]
            if len(shape) == 3:
                return key, mat.load(key)
            if len(shape) == 2 and n_row and n_col:
                n_pix = n_row * n_col
                if shape[1] == n_pix:  # bands x pixels
                    return key, pixels_to_cube(mat.load(key).T, n_row, n_col)
                if shape[0] == n_pix:  # pixels x bands
                    return key, pixels_to_cube(mat.load(key), n_row, n_col)
        found = ", ".join(f"{k}{list(s)}" for k, s in shapes.items()) or "no numeric variables"
        raise FormatError(
            mat.path, "variables",
            "a 3-D (rows, cols, bands) array, or a bands x pixels matrix with scalar nRow and nCol",
            found,
        )

    @staticmethod
    def _wavelength(mat: _MatFile, bands: int) -> np.ndarray | None:
        for key in _WAVELENGTH_NAMES:
            if key in mat.shapes and int(np.prod(mat.shapes[key])) == bands:
                values = np.asarray(mat.load(key), dtype=np.float64).ravel()
                return values * 1000.0 if np.nanmax(values) < 100 else values
        return None
