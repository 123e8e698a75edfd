"""Hostile files for the reliability suite and ``benchmarks/reliability.py``: small valid files of every
format, mutated the way damaged or malicious files are (truncated, bytes flipped, size fields overwritten with
huge values, junk appended), and a tally of what reading them did."""

from __future__ import annotations

import resource
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import SpectraflowError

__all__ = ["FORMATS", "valid_file", "mutate", "HostileTally", "try_reading", "peak_rss_mb"]

#: The formats fuzzed, by the name of the valid file each starts from.
FORMATS = ("envi", "mat_v5", "mat_v73", "netcdf4", "hdf5", "geotiff", "npy", "dm3", "dm4", "emd", "hspy")
#: Formats nothing here writes: their valid file is a copy of a real one of the shared data (MANIFEST §6).
_REAL_FILES = {"dm3": "eels/EELS_STO.dm3", "dm4": "eels/EELS_SI.dm4", "emd": "eels/velox_EELS_EDS.zip"}


def valid_file(directory: Path, format: str, seed: int = 0) -> Path:
    """A small valid file of ``format`` in ``directory`` (an ENVI pair: its header is returned)."""
    import shutil
    import zipfile

    from ..datasets import shared_data_dir
    from ..io import write_envi
    from .writers import write_geotiff, write_hdf5, write_mat_v5, write_mat_v73, write_netcdf, write_npy

    rng = np.random.default_rng(seed)
    cube = rng.random((6, 5, 4)).astype("f4")
    wavelength = np.linspace(400.0, 2400.0, 4)
    directory.mkdir(parents=True, exist_ok=True)
    if format in _REAL_FILES:
        real = shared_data_dir() / _REAL_FILES[format]
        if real.suffix != ".zip":
            return Path(shutil.copyfile(real, directory / real.name))
        with zipfile.ZipFile(real) as archive:
            member = next(n for n in archive.namelist() if n.endswith(".emd"))
            (directory / "cube.emd").write_bytes(archive.read(member))
        return directory / "cube.emd"
    if format == "envi":
        return write_envi(directory / "cube.img", cube, wavelength=wavelength, interleave="bil")[0]
    if format == "mat_v5":
        return write_mat_v5(directory / "cube.mat", {"cube": cube.astype("f8"), "wavelength": wavelength})
    if format == "mat_v73":
        return write_mat_v73(directory / "cube.mat", {"cube": cube.astype("f8"), "wavelength": wavelength})
    if format == "netcdf4":
        return write_netcdf(directory / "cube.nc", cube, wavelength)
    if format == "hdf5":
        return write_hdf5(directory / "cube.h5", cube)
    if format == "geotiff":
        return write_geotiff(directory / "cube.tif", (cube * 1000).astype("u2"), wavelength)
    if format == "npy":
        return write_npy(directory / "cube.npy", cube)
    if format == "hspy":
        from ..synth import eels_scene, write_eels_hspy

        return write_eels_hspy(eels_scene(seed, height=16, width=16, energy=(400.0, 480.0, 2.0)), directory, "cube")
    raise ValueError(f"format {format!r}: expected one of {FORMATS}")


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """``data`` damaged in one to four ways, mostly in the first kilobytes where headers and sizes live."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        action = int(rng.integers(5))
        head = max(1, min(len(out), 4096))
        if action == 0 and len(out) > 1:  # truncated
            del out[int(rng.integers(1, len(out))):]
        elif action == 1:  # bytes flipped
            for _ in range(int(rng.integers(1, 16))):
                out[int(rng.integers(head))] = int(rng.integers(256))
        elif action == 2 and len(out) >= 8:  # a size field overwritten with a huge value
            at = int(rng.integers(0, max(1, head - 8)))
            out[at:at + 8] = rng.choice([b"\xff" * 8, b"\xff\xff\xff\x7f" * 2, b"\x00\x00\x01\x00" * 2])
        elif action == 3:  # junk appended
            out += rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()
        elif len(out) > 16:  # a block duplicated over another
            a, b, n = int(rng.integers(len(out))), int(rng.integers(len(out))), int(rng.integers(1, 64))
            out[b:b + n] = out[a:a + n]
    return bytes(out)


@dataclass
class HostileTally:
    """What reading hostile files did. ``other``, ``hangs`` must stay 0."""

    tried: int = 0
    loaded: int = 0
    refused: int = 0
    other: int = 0
    hangs: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, outcome: str, detail: str = "") -> None:
        self.tried += 1
        setattr(self, outcome, getattr(self, outcome) + 1)
        if outcome in ("other", "hangs") and len(self.examples) < 10:
            self.examples.append(detail)


class _Hang(Exception):
    pass


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def try_reading(action: Callable[[], object], tally: HostileTally, label: str, seconds: int = 90) -> None:
    """Run ``action`` (a read or an ingest of one hostile file) and count how it ended."""
    try:
        with _deadline(seconds):
            action()
        tally.add("loaded")
    except _Hang:
        tally.add("hangs", f"{label}: no answer in {seconds} s")
    except SpectraflowError:
        tally.add("refused")
    except Exception as exc:  # noqa: BLE001 — the figure that must stay 0
        last = traceback.extract_tb(exc.__traceback__)[-1]
        tally.add("other", f"{label}: {type(exc).__name__}: {exc} ({last.filename}:{last.lineno})")


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
