"""NumPy ``.npy`` arrays ``(y, x, band)``, read lazily (the payload is mapped block by block)."""

from __future__ import annotations

import tokenize
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._guard import check_declared_size, require_regular_file
from ..cube import make_scene, provenance_attrs
from ..errors import FormatError
from ._base import ChunkSpec, Reader, readers, source_entries, wanted_chunks
from ._raw import RawFileArray

__all__ = ["NpyReader"]

_MAGIC = b"\x93NUMPY"


@readers.register("npy")
class NpyReader(Reader):
    """``.npy`` files holding a 3-D ``(y, x, band)`` array; ``wavelength=`` supplies the grid in nm."""

    version = "1.0"
    extensions = (".npy",)

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            with open(path, "rb") as f:
                return f.read(6) == _MAGIC
        except OSError:
            return False

    def open(self, path: Path, *, chunks: ChunkSpec = None, name: str | None = None,
             **options: Any) -> xr.Dataset:
        self.reject_options(path, options, allowed=("wavelength",))
        try:
            with open(require_regular_file(path), "rb") as f:
                version = np.lib.format.read_magic(f)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(f)
                offset = f.tell()
        except (ValueError, TypeError, SyntaxError, MemoryError, tokenize.TokenError) as exc:  # bad header text
            raise FormatError(path, "npy header", "a valid .npy header", f"{type(exc).__name__}: {exc}") from None
        if dtype.hasobject or dtype.kind not in "iufb":
            raise FormatError(path, "dtype", "a numeric dtype (objects are never unpickled)", str(dtype))
        if len(shape) != 3:
            raise FormatError(path, "shape", "a 3-D (y, x, band) array", shape)
        check_declared_size(path, "shape", shape, dtype.itemsize)  # negative extents, absurd sizes
        expected = offset + int(np.prod(shape)) * dtype.itemsize
        if path.stat().st_size < expected:
            raise FormatError(path, "file size", f"at least {expected} bytes", path.stat().st_size)
        import dask.array as da

        if fortran:  # stored as the transpose, C-ordered
            proxy = RawFileArray(path, tuple(reversed(shape)), dtype, offset)
        else:
            proxy = RawFileArray(path, shape, dtype, offset)
        wanted = tuple(wanted_chunks(chunks, shape, dtype.itemsize, path).values())
        data = da.from_array(proxy, chunks=wanted[::-1] if fortran else wanted, lock=False,
                             meta=np.empty((0, 0, 0), proxy.dtype))
        if fortran:
            data = data.transpose(2, 1, 0)
        return make_scene(
            data, wavelength=options.get("wavelength"), source=str(path),
            units="DN" if dtype.kind in "iu" else "unknown",
            attrs=provenance_attrs(name or path.stem, source_entries([path]), self.name,
                                   f"{self.version}; numpy {np.__version__}"),
        )
