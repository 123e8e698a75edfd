"""Electron-microscopy spectrum images through RosettaSciIO, the field's reader library: Gatan DigitalMicrograph
``.dm3``/``.dm4``, Thermo Fisher Velox ``.emd`` and HyperSpy's ``.hspy``.

RosettaSciIO hands back each signal of a file as ``data`` plus ``axes`` (name, size, scale, offset, units and
whether the axis is a *navigation* axis — a scan position — or the signal's own axis). A spectrum image has two
navigation axes and one signal axis; those become the scene's ``(y, x, band)``, the band positions
``offset + scale · index`` on the spectral axis the signal axis' units name (eV: ``energy_loss``). A single
spectrum is a 1 × 1 scene, a line scan a 1 × n one.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from .._guard import check_declared_size, check_hdf5, require_regular_file
from ..cube import make_scene, provenance_attrs
from ..errors import FormatError, SpectraflowError
from ._base import ChunkSpec, Reader, readers, source_entries, wanted_chunks

__all__ = ["DigitalMicrographReader", "VeloxReader", "HyperSpyReader"]

#: The units a signal axis may carry, by the spectral axis they put it on (eV: of an EELS signal only; an EDS
#: spectrum's X-ray energy is not an energy loss). Lengths (nm, µm) are scan axes in these formats.
_AXIS_BY_UNITS = {"ev": "energy_loss", "cm-1": "wavenumber", "1/cm": "wavenumber", "cm^-1": "wavenumber"}


class _RosettaReader(Reader):
    """A format RosettaSciIO reads; subclasses say which module and which of the file's signals are spectra."""

    module: ClassVar[str] = ""
    #: What the format is called in messages.
    label: ClassVar[str] = ""
    #: Whether the format stores its samples as they are (then they cannot take more bytes than the file).
    uncompressed: ClassVar[bool] = False

    def _read_signals(self, path: Path) -> list[dict[str, Any]]:
        import importlib

        reader = importlib.import_module(f"rsciio.{self.module}")
        try:
            return list(reader.file_reader(str(path), lazy=True))
        except SpectraflowError:
            raise
        except OSError as exc:
            if isinstance(exc.errno, int):  # a real I/O error: the ingest task may retry it (the DM parser
                raise                       # also raises OSError, with its message as the "errno")
            raise FormatError(path, "structure", f"a readable {self.label} file", str(exc)) from None
        except Exception as exc:  # noqa: BLE001 — a damaged file makes the parser fail in any of its ways
            raise FormatError(path, "structure", f"a readable {self.label} file",
                              f"{type(exc).__name__}: {exc}") from None

    def open(self, path: Path, *, chunks: ChunkSpec = None, name: str | None = None,
             **options: Any) -> xr.Dataset:
        """Open the file's spectrum image number ``signal`` (0-based, among the signals with a spectral axis;
        default the first)."""
        self.reject_options(path, options, allowed=("signal",))
        path = require_regular_file(path)
        spectra = [s for s in self._read_signals(path) if _signal_axis(s) is not None]
        if not spectra:
            raise FormatError(path, "signals", "a spectrum or spectrum image on an EELS energy-loss (eV) or a "
                              "wavenumber (cm-1) axis", "no such signal")
        index = options.get("signal", 0)
        if not isinstance(index, int) or not 0 <= index < len(spectra):
            raise FormatError(path, "signal", f"an index 0..{len(spectra) - 1} among its spectra "
                              f"({[_title(s) for s in spectra]})", index)
        return self._scene(path, spectra[index], chunks, name)

    def _scene(self, path: Path, signal: dict[str, Any], chunks: ChunkSpec, name: str | None) -> xr.Dataset:
        import dask.array as da
        import rsciio

        data, axes = signal["data"], signal["axes"]
        if len(axes) != data.ndim or [int(a["size"]) for a in axes] != list(data.shape):
            raise FormatError(path, "axes", f"one axis per dimension of the data {tuple(data.shape)}",
                              [(a.get("name"), a.get("size")) for a in axes])
        spectral = _signal_axis(signal)
        assert spectral is not None
        navigation = [i for i in range(len(axes)) if i != spectral]
        if len(navigation) > 2:
            raise FormatError(path, "navigation axes", "at most two scan axes (a spectrum image)",
                              [axes[i].get("name") for i in navigation])
        if np.dtype(data.dtype).kind not in "iuf":
            raise FormatError(path, "data type", "integer or real samples", str(data.dtype))
        nbytes = check_declared_size(path, "data", data.shape, np.dtype(data.dtype).itemsize)
        if self.uncompressed and nbytes > path.stat().st_size:
            raise FormatError(path, "data", f"at most the file's {path.stat().st_size} bytes of samples "
                              f"({self.label} stores them uncompressed)", f"{tuple(data.shape)}: {nbytes} bytes")
        cube = da.asarray(data).transpose(*navigation, spectral)
        cube = cube.reshape((1,) * (3 - cube.ndim) + cube.shape)
        wanted = wanted_chunks(chunks, cube.shape, np.dtype(cube.dtype).itemsize, path)
        cube = cube.rechunk(tuple(wanted.values()))
        axis = axes[spectral]
        positions = float(axis.get("offset", 0.0)) + float(axis.get("scale", 1.0)) * np.arange(cube.shape[2])
        metadata = signal.get("metadata", {})
        scan = {dim: {"scale": float(axes[i].get("scale", 1.0)), "units": str(axes[i].get("units", ""))}
                for dim, i in zip(("y", "x")[2 - len(navigation):], navigation, strict=True)}
        attrs = provenance_attrs(name or path.stem, source_entries([path]), self.name,
                                 f"{self.version}; rosettasciio {rsciio.__version__}")
        attrs["signal_type"] = str(metadata.get("Signal", {}).get("signal_type", ""))
        attrs["title"] = _title(signal)
        if scan:
            attrs["pixel_size"] = json.dumps(scan)
        beam = metadata.get("Acquisition_instrument", {}).get("TEM", {}).get("beam_energy")
        if beam is not None:
            attrs["beam_energy_kev"] = float(beam)
        return make_scene(cube, **{str(_axis_name(signal, axis)): positions}, units="counts", sensor=self.label,
                          acquired=_acquired(metadata), attrs=attrs, source=str(path))


def _signal_axis(signal: dict[str, Any]) -> int | None:
    """Index of the signal's one spectral axis (the axis in units of a spectral axis), or None when the signal
    is no spectrum (an image, an EDS spectrum). Judged by units, not by RosettaSciIO's ``navigate`` flags: a
    DigitalMicrograph spectrum image stored energy-first comes back with its energy axis flagged as navigation."""
    axes = signal.get("axes", [])
    found = [i for i, a in enumerate(axes) if _axis_name(signal, a) is not None]
    if len(found) > 1:  # several: the signal's own one
        found = [i for i in found if not axes[i].get("navigate", False)]
    return found[0] if len(found) == 1 else None


def _axis_name(signal: dict[str, Any], axis: dict[str, Any]) -> str | None:
    """The spectral axis (:data:`~spectraflow.cube.SPECTRAL_AXES`) a signal axis lies on, by its units."""
    name = _AXIS_BY_UNITS.get(str(axis.get("units", "")).strip().lower())
    eels = str(signal.get("metadata", {}).get("Signal", {}).get("signal_type", "")).upper() == "EELS"
    return None if name == "energy_loss" and not eels else name


def _title(signal: dict[str, Any]) -> str:
    return str(signal.get("metadata", {}).get("General", {}).get("title", ""))


def _acquired(metadata: dict[str, Any]) -> str | None:
    general = metadata.get("General", {})
    date, time = general.get("date"), general.get("time")
    if not date:
        return None
    try:
        return _dt.datetime.fromisoformat(f"{date}T{time}" if time else str(date)).isoformat()
    except ValueError:
        return None


@readers.register("dm")
class DigitalMicrographReader(_RosettaReader):
    """Gatan DigitalMicrograph ``.dm3`` / ``.dm4``: spectrum images, line scans and single spectra (EELS)."""

    version = "1.0"
    extensions = (".dm3", ".dm4")
    module = "digitalmicrograph"
    label = "DigitalMicrograph"
    uncompressed = True

    @classmethod
    def sniff(cls, path: Path) -> bool:
        try:
            with open(path, "rb") as f:
                head = f.read(16)
        except OSError:
            return False
        if len(head) < 16:
            return False
        version = int.from_bytes(head[:4], "big")
        byte_order = int.from_bytes(head[8:12] if version == 3 else head[12:16], "big")
        return version in (3, 4) and byte_order in (0, 1)


class _Hdf5Reader(_RosettaReader):
    """A RosettaSciIO format stored in HDF5: told apart from other HDF5 files by its name, and checked as every HDF5
    input is before its parser reads it."""

    @classmethod
    def sniff(cls, path: Path) -> bool:
        if path.suffix.lower() not in cls.extensions:  # an HDF5 file like any other NetCDF-4 but for its name
            return False
        try:
            with open(path, "rb") as f:
                return f.read(8) == b"\x89HDF\r\n\x1a\n"
        except OSError:
            return False

    def _read_signals(self, path: Path) -> list[dict[str, Any]]:
        check_hdf5(path)  # every dataset inside the file, every declared size one the file can hold
        return super()._read_signals(path)


@readers.register("emd")
class VeloxReader(_Hdf5Reader):
    """Thermo Fisher Velox ``.emd`` (HDF5): its EELS spectrum images (``signal=`` picks one, default the first;
    images and EDS spectra are not EELS and are skipped)."""

    version = "1.0"
    extensions = (".emd",)
    module = "emd"
    label = "Velox EMD"


@readers.register("hspy")
class HyperSpyReader(_Hdf5Reader):
    """HyperSpy ``.hspy`` (HDF5), the format EELS users save their processed spectrum images in: its spectra
    (``signal=`` picks one), an EELS signal's energy-loss axis from its ``signal_type``."""

    version = "1.0"
    extensions = (".hspy",)
    module = "hspy"
    label = "HyperSpy"
