"""ENVI raw images: a ``.hdr`` text header beside a headerless binary file.

The header format is documented by NV5 (ENVI Header Files, ``https://www.nv5geospatialsoftware.com/docs/
ENVIHeaderFiles.html``). Supported: ``data type`` 1, 2, 3, 4, 5, 12, 13, 14, 15; interleave BSQ, BIL, BIP;
both byte orders; ``header offset``; the header found as ``X.hdr`` or ``X.img.hdr`` (or given directly).
The raw file is read lazily: dask blocks map the file only while they copy their window.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._guard import MAX_SAMPLES, require_regular_file
from ..cube import make_scene, provenance_attrs
from ..errors import DataSizeError, FormatError, HeaderError, InputNotFoundError
from ._base import ChunkSpec, Reader, readers, source_entries, wanted_chunks
from ._raw import RawFileArray

__all__ = ["EnviReader", "parse_envi_header", "write_envi", "find_envi_pair", "ENVI_DTYPES"]

#: ENVI ``data type`` codes and the NumPy types they name (complex types are not spectral data).
ENVI_DTYPES: dict[int, np.dtype[Any]] = {
    1: np.dtype("u1"),
    2: np.dtype("i2"),
    3: np.dtype("i4"),
    4: np.dtype("f4"),
    5: np.dtype("f8"),
    12: np.dtype("u2"),
    13: np.dtype("u4"),
    14: np.dtype("i8"),
    15: np.dtype("u8"),
}
_CODE_OF_DTYPE = {dt: code for code, dt in ENVI_DTYPES.items()}

#: Raw file layout for each interleave, and the transpose that brings it to (y, x, band).
_LAYOUT = {
    "bsq": (("band", "y", "x"), (1, 2, 0)),
    "bil": (("y", "band", "x"), (0, 2, 1)),
    "bip": (("y", "x", "band"), (0, 1, 2)),
}
_RAW_SUFFIXES = ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".bin")
MAX_HEADER_BYTES = 16 * 1024 * 1024
_DIGITS = re.compile(r"[0-9]+")
_WAVELENGTH_SCALE = {
    "nanometers": 1.0, "nanometer": 1.0, "nm": 1.0,
    "micrometers": 1000.0, "micrometer": 1000.0, "microns": 1000.0, "micron": 1000.0, "um": 1000.0,
    "millimeters": 1e6, "mm": 1e6,
}


def find_envi_pair(path: str | Path) -> tuple[Path, Path]:
    """Return ``(header, raw)`` for ``path``, which may name either file.

    The header of raw file ``X.img`` is looked for as ``X.img.hdr`` then ``X.hdr``; the raw file of header
    ``X.hdr`` as ``X``, ``X.img``, ``X.dat``, ... .
    """
    path = Path(path)
    if path.suffix.lower() == ".hdr":
        header = path
        if not header.is_file():
            raise InputNotFoundError(header, "ENVI header")
        base = header.with_suffix("")
        for suffix in _RAW_SUFFIXES:
            candidate = base.with_name(base.name + suffix)
            if candidate.is_file() and candidate != header:
                return header, candidate
        raise InputNotFoundError(base.with_name(base.name + ".img"),
                                 f"ENVI raw data file for header {header.name}")
    if not path.is_file():
        raise InputNotFoundError(path)
    for candidate in (path.with_name(path.name + ".hdr"), path.with_suffix(".hdr")):
        if candidate.is_file():
            return candidate, path
    raise HeaderError(path, "header", f"an ENVI header beside it ({path.name}.hdr or {path.stem}.hdr)",
                      "no header file")


def _is_envi_header(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"ENVI"
    except OSError:
        return False


def parse_envi_header(path: str | Path) -> dict[str, Any]:
    """Parse an ENVI header into a dict with lowercase keys and string / list-of-string values.

    Raises :class:`HeaderError` naming the file and what is wrong; never reads more than
    ``MAX_HEADER_BYTES``.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_HEADER_BYTES:  # checked before reading: no buffer the size of the claim
                raise HeaderError(path, "header", f"at most {MAX_HEADER_BYTES} bytes of text", f"{size} bytes")
            raw = f.read(size + 1) if size else f.read(MAX_HEADER_BYTES + 1)  # size 0: a pipe, read up to the cap
    except FileNotFoundError:
        raise InputNotFoundError(path, "ENVI header") from None
    except OSError as exc:
        raise HeaderError(path, "header", "a readable file", str(exc)) from None
    if len(raw) > MAX_HEADER_BYTES:
        raise HeaderError(path, "header", f"at most {MAX_HEADER_BYTES} bytes of text", "a larger file")
    if not raw.startswith(b"ENVI"):
        raise HeaderError(path, "magic", "the header to start with 'ENVI'", raw[:16].decode("latin-1"))
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    fields: dict[str, Any] = {}
    lines = text.split("\n")[1:]
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith(";"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue  # ENVI ignores lines without '='; so do we
        key = " ".join(key.lower().split())
        value = value.strip()
        if value.startswith("{"):
            while "}" not in value and i < len(lines):
                value += "\n" + lines[i]
                i += 1
            if "}" not in value:
                raise HeaderError(path, key, "a '{...}' value closed by '}'", "end of file")
            inner = value[1 : value.index("}")]
            if key in ("description",):
                fields[key] = inner.strip()
            else:
                fields[key] = [item.strip() for item in inner.replace("\n", " ").split(",")]
        else:
            fields[key] = value
    return fields


def _int_field(path: Path, fields: Mapping[str, Any], key: str, *, default: int | None = None,
               minimum: int = 0) -> int:
    if key not in fields:
        if default is not None:
            return default
        raise HeaderError(path, key, "an integer", "missing")
    value = fields[key]
    text = str(value).strip()
    if not _DIGITS.fullmatch(text):  # int() would also take '4_0', '+4' and non-ASCII digits
        raise HeaderError(path, key, "an integer written with the digits 0-9", value)
    number = int(text)
    if number < minimum:
        raise HeaderError(path, key, f"an integer >= {minimum}", number)
    return number


def _float_list(path: Path, fields: Mapping[str, Any], key: str, n: int) -> np.ndarray | None:
    if key not in fields:
        return None
    values = fields[key]
    if isinstance(values, str):
        values = [values]
    try:
        array = np.array([float(v) for v in values if v != ""], dtype=np.float64)
    except ValueError:
        raise HeaderError(path, key, "a list of numbers", values[:5]) from None
    if array.size != n:
        raise HeaderError(path, key, f"{n} values (one per band)", f"{array.size} values")
    if not np.isfinite(array).all():
        raise HeaderError(path, key, "finite numbers", f"{int((~np.isfinite(array)).sum())} NaN/inf values")
    return array


def _float_field(path: Path, fields: Mapping[str, Any], key: str) -> float | None:
    if key not in fields:
        return None
    value = fields[key]
    if isinstance(value, list):  # some writers brace single values
        value = value[0] if len(value) == 1 else value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HeaderError(path, key, "a number", value) from None
    if not np.isfinite(number):
        raise HeaderError(path, key, "a finite number", value)
    return number


class EnviHeader:
    """The parts of an ENVI header that define the raw layout and the cube's metadata."""

    def __init__(self, path: Path, fields: dict[str, Any]) -> None:
        self.path = path
        self.fields = fields
        self.samples = _int_field(path, fields, "samples", minimum=1)
        self.lines = _int_field(path, fields, "lines", minimum=1)
        self.bands = _int_field(path, fields, "bands", minimum=1)
        total = self.samples * self.lines * self.bands
        if total > MAX_SAMPLES:
            raise DataSizeError(path, "samples x lines x bands", f"at most {MAX_SAMPLES} samples", total)
        self.offset = _int_field(path, fields, "header offset", default=0)
        code = _int_field(path, fields, "data type")
        if code not in ENVI_DTYPES:
            raise HeaderError(path, "data type", f"one of {sorted(ENVI_DTYPES)}", code)
        order = _int_field(path, fields, "byte order", default=0)
        if order not in (0, 1):
            raise HeaderError(path, "byte order", "0 (little-endian) or 1 (big-endian)", order)
        self.dtype = ENVI_DTYPES[code].newbyteorder("<" if order == 0 else ">")
        interleave = str(fields.get("interleave", "")).strip().lower()
        if interleave not in _LAYOUT:
            raise HeaderError(path, "interleave", "one of bsq, bil, bip", fields.get("interleave", "missing"))
        self.interleave = interleave
        self.wavelength = self._wavelengths()
        self.fwhm = _float_list(path, fields, "fwhm", self.bands)
        if self.fwhm is not None:
            self.fwhm = self.fwhm * self.wavelength_scale
        bbl = _float_list(path, fields, "bbl", self.bands)
        self.good_band = None if bbl is None else bbl != 0
        self.scale_factor = _float_field(path, fields, "reflectance scale factor")
        if self.scale_factor is not None and self.scale_factor <= 0:
            raise HeaderError(path, "reflectance scale factor", "a positive number (stored value / reflectance)",
                              fields["reflectance scale factor"])
        self.nodata = _float_field(path, fields, "data ignore value")

    def _wavelengths(self) -> np.ndarray | None:
        values = _float_list(self.path, self.fields, "wavelength", self.bands)
        units = " ".join(str(self.fields.get("wavelength units", "")).lower().split())
        self.units_inferred: str | None = None
        if units in _WAVELENGTH_SCALE:
            self.wavelength_scale = _WAVELENGTH_SCALE[units]
        elif units in ("", "unknown"):
            # headers without units: values under 100 can only be micrometres for optical sensors
            self.wavelength_scale = 1000.0 if values is not None and np.nanmax(values) < 100 else 1.0
            if values is not None:
                self.units_inferred = (
                    f"{'micrometres' if self.wavelength_scale == 1000.0 else 'nanometres'}, from the values' range "
                    f"{values.min():g}-{values.max():g} (the header's wavelength units: "
                    f"{self.fields.get('wavelength units', 'missing')!r})")
        elif units in ("index", "wavenumber", "ghz", "mhz"):
            self.wavelength_scale = 1.0
            return None if values is None else np.full(self.bands, np.nan)
        else:
            raise HeaderError(self.path, "wavelength units", "Nanometers or Micrometers", units)
        return None if values is None else values * self.wavelength_scale

    @property
    def raw_shape(self) -> tuple[int, int, int]:
        sizes = {"band": self.bands, "y": self.lines, "x": self.samples}
        return tuple(sizes[d] for d in _LAYOUT[self.interleave][0])  # type: ignore[return-value]

    @property
    def nbytes(self) -> int:
        return self.offset + self.samples * self.lines * self.bands * self.dtype.itemsize


@readers.register("envi")
class EnviReader(Reader):
    """ENVI ``.hdr`` + raw binary file (BSQ/BIL/BIP), read lazily."""

    version = "1.0"
    extensions = (".hdr", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip")

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if _is_envi_header(path):
            return True
        return any(_is_envi_header(c) for c in (path.with_name(path.name + ".hdr"), path.with_suffix(".hdr"))
                   if c != path)

    def source_files(self, path: Path) -> list[Path]:
        header, raw = find_envi_pair(path)
        return [raw, header]

    def open(self, path: Path, *, chunks: ChunkSpec = None, name: str | None = None,
             **options: Any) -> xr.Dataset:
        self.reject_options(path, options)
        header_path, raw_path = find_envi_pair(path)
        if raw_path != Path(path) and raw_path.is_symlink():  # the named file is the user's; its companion not
            raise FormatError(raw_path, "raw data file", f"a regular file beside {header_path.name} (a symbolic "
                              "link would read another file's bytes: copy the file in instead)",
                              f"a link to {os.readlink(raw_path)}")
        require_regular_file(raw_path, "ENVI raw data file")
        header = EnviHeader(header_path, parse_envi_header(header_path))
        size = raw_path.stat().st_size
        if size != header.nbytes:
            raise DataSizeError(
                raw_path, "file size",
                f"{header.nbytes} bytes (header offset {header.offset} + {header.lines} lines x "
                f"{header.samples} samples x {header.bands} bands x {header.dtype.itemsize} bytes, "
                f"from {header_path.name})",
                f"{size} bytes",
            )
        import dask.array as da

        raw_dims, to_yxb = _LAYOUT[header.interleave]
        yxb_chunks = wanted_chunks(chunks, (header.lines, header.samples, header.bands), header.dtype.itemsize,
                                   path)
        raw_chunks = tuple(yxb_chunks.get(d, -1) for d in raw_dims)
        proxy = RawFileArray(raw_path, header.raw_shape, header.dtype, header.offset)
        data = da.from_array(proxy, chunks=raw_chunks, lock=False, asarray=True,
                             meta=np.empty((0, 0, 0), proxy.dtype), name=f"envi-{_token(raw_path, header)}")
        data = data.transpose(to_yxb)
        units = "reflectance" if header.scale_factor is not None else (
            "DN" if header.dtype.kind in "iu" else "unknown")
        scene = make_scene(
            data,
            wavelength=header.wavelength,
            fwhm=header.fwhm,
            good_band=header.good_band,
            units=units,
            data_scale=header.scale_factor or 1.0,
            nodata=header.nodata,
            sensor=str(header.fields.get("sensor type", "unknown")),
            source=str(header_path),
            attrs=provenance_attrs(name or raw_path.stem, source_entries([raw_path, header_path]),
                                   self.name, self.version),
        )
        scene.cube.attrs["envi_interleave"] = header.interleave
        if header.units_inferred:
            scene.attrs["wavelength_units_inferred"] = header.units_inferred
        for key in ("map info", "coordinate system string", "default bands"):
            if key in header.fields:
                value = header.fields[key]
                scene.attrs[f"envi_{key.replace(' ', '_')}"] = ", ".join(value) if isinstance(value, list) else value
        return scene


def _token(raw: Path, header: EnviHeader) -> str:
    from dask.base import tokenize

    stat = raw.stat()
    return tokenize(str(raw.resolve()), stat.st_mtime_ns, stat.st_size, header.raw_shape, str(header.dtype),
                    header.offset)


def write_envi(
    path: str | Path,
    data: Any,
    *,
    interleave: str = "bsq",
    wavelength: Sequence[float] | np.ndarray | None = None,
    fwhm: Sequence[float] | np.ndarray | None = None,
    bbl: Sequence[int] | np.ndarray | None = None,
    byte_order: int = 0,
    header_offset: int = 0,
    reflectance_scale_factor: float | None = None,
    data_ignore_value: float | None = None,
    sensor_type: str | None = None,
    description: str = "written by spectraflow",
    header_name: str = "raw.hdr",
    block_lines: int = 256,
) -> tuple[Path, Path]:
    """Write a ``(y, x, band)`` array (NumPy or dask) as an ENVI raw file plus header.

    ``header_name="raw.hdr"`` places the header at ``<path without suffix>.hdr``; ``"raw.img.hdr"`` at
    ``<path>.hdr``. The array's dtype must be one ENVI has a code for. The raw file is written ``block_lines``
    lines at a time, so dask inputs larger than memory stream through.
    """
    path = Path(path)
    interleave = interleave.lower()
    if interleave not in _LAYOUT:
        raise FormatError(path, "interleave", "one of bsq, bil, bip", interleave)
    if byte_order not in (0, 1):
        raise FormatError(path, "byte order", "0 or 1", byte_order)
    dtype = np.dtype(data.dtype)
    if dtype.newbyteorder("=") not in _CODE_OF_DTYPE:
        raise FormatError(path, "dtype", f"one of {sorted(str(d) for d in _CODE_OF_DTYPE)}", str(dtype))
    lines, samples, bands = (int(s) for s in data.shape)
    file_dtype = dtype.newbyteorder("<" if byte_order == 0 else ">")
    raw_dims, to_yxb = _LAYOUT[interleave]
    from_yxb = tuple(int(i) for i in np.argsort(to_yxb))
    with open(path, "wb") as f:
        f.write(b"\0" * header_offset)
        if interleave == "bsq":
            for b in range(bands):
                for y0 in range(0, lines, block_lines):
                    f.write(np.asarray(data[y0 : y0 + block_lines, :, b]).astype(file_dtype).tobytes())
        else:
            for y0 in range(0, lines, block_lines):
                block = np.asarray(data[y0 : y0 + block_lines]).transpose(from_yxb)
                f.write(np.ascontiguousarray(block, dtype=file_dtype).tobytes())
    header_path = path.with_suffix(".hdr") if header_name == "raw.hdr" else path.with_name(path.name + ".hdr")
    entries = [
        ("description", "{" + description + "}"),
        ("samples", samples), ("lines", lines), ("bands", bands),
        ("header offset", header_offset), ("file type", "ENVI Standard"),
        ("data type", _CODE_OF_DTYPE[dtype.newbyteorder("=")]), ("interleave", interleave),
        ("byte order", byte_order),
    ]
    if sensor_type:
        entries.append(("sensor type", sensor_type))
    if reflectance_scale_factor is not None:
        entries.append(("reflectance scale factor", repr(float(reflectance_scale_factor))))
    if data_ignore_value is not None:
        entries.append(("data ignore value", repr(float(data_ignore_value))))
    if wavelength is not None:
        entries.append(("wavelength units", "Nanometers"))
        entries.append(("wavelength", _brace(wavelength)))
    if fwhm is not None:
        entries.append(("fwhm", _brace(fwhm)))
    if bbl is not None:
        entries.append(("bbl", _brace([int(v) for v in bbl])))
    text = "ENVI\n" + "".join(f"{k} = {v}\n" for k, v in entries)
    header_path.write_text(text)
    return header_path, path


def _brace(values: Sequence[Any] | np.ndarray) -> str:
    items = [f"{v:.10g}" if isinstance(v, float | np.floating) else str(v) for v in np.asarray(values).tolist()]
    return "{" + ", ".join(items) + "}"


