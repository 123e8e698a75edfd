"""What every reader checks before it reads: the file is a regular file, the sizes it declares can be held,
and its data live in the files it names.

A file's header is a claim. A 2 KB HDF5 file can declare a 10⁶ × 10⁶ dataset, a 700-byte TIFF 65535² × 3
pixels, a gzip chunk can inflate a thousandfold, and HDF5 can point at the bytes of any other file on the
machine (external raw storage, external links, virtual datasets). The checks here run on the claim, before
any allocation, graph building or read of the data:

- :func:`require_regular_file` — a FIFO, socket or device named as input would block or never end;
- :func:`check_declared_size` — one size rule for every reader: at most :data:`MAX_SAMPLES` samples, and a
  declared size the stored bytes can plausibly hold (at most :data:`MAX_EXPANSION` × the file's size, above
  a free allowance of :data:`FREE_BYTES`: real spectral data compress 1–3×);
- :func:`check_hdf5` — every dataset of an HDF5 file (NetCDF-4, MATLAB v7.3) stored in the file itself,
  each declared size checked, external links refused.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import DataSizeError, FormatError, InputNotFoundError

__all__ = ["MAX_SAMPLES", "MAX_EXPANSION", "FREE_BYTES", "require_regular_file", "check_declared_size",
           "check_hdf5", "format_error_from_os"]

#: Refuse any declaration of more samples than a real cube has.
MAX_SAMPLES = 1 << 40
#: Declared bytes per stored byte a compressed format may claim (beyond :data:`FREE_BYTES`).
MAX_EXPANSION = 64
#: Declared bytes that need no stored bytes behind them (a tiny file of zeros is harmless up to this size).
FREE_BYTES = 64 << 20
#: An HDF5 file with more objects than this is refused (hard-link cycles would otherwise never end).
MAX_HDF5_OBJECTS = 100_000
#: Seconds the metadata of one HDF5 file may take to parse (a real file's take milliseconds).
HDF5_PARSE_SECONDS = 30

_FILE_TYPES = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
               stat.S_IFBLK: "a block device", stat.S_IFDIR: "a directory"}


def require_regular_file(path: str | os.PathLike[str], what: str = "input file") -> Path:
    """``path``, after checking that it names a regular file (symlinks followed) without opening it."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputNotFoundError(path, what) from None
    except OSError as exc:
        raise FormatError(path, "file", "a readable regular file", exc.strerror) from None
    if not stat.S_ISREG(mode):
        raise FormatError(path, "file type", f"a regular file ({what})",
                          _FILE_TYPES.get(stat.S_IFMT(mode), "not a regular file"))
    return path


def check_declared_size(path: str | os.PathLike[str], field: str, shape: Sequence[Any], itemsize: int, *,
                        stored_bytes: int | None = None) -> int:
    """Refuse a declared array ``shape`` that cannot be real; return its size in bytes.

    Every extent must be a non-negative integer, the sample count at most :data:`MAX_SAMPLES`, and the bytes
    at most ``FREE_BYTES + MAX_EXPANSION × stored_bytes`` (default: the file's size).
    """
    path = Path(path)
    extents = []
    for extent in shape:
        try:
            value = int(extent)
        except (TypeError, ValueError, OverflowError):
            raise FormatError(path, field, "integer extents", tuple(shape)) from None
        if value != extent or value < 0:
            raise FormatError(path, field, "non-negative integer extents", tuple(shape))
        extents.append(value)
    samples = 1
    for value in extents:
        samples *= value
    if samples > MAX_SAMPLES:
        raise DataSizeError(path, field, f"at most {MAX_SAMPLES} samples", f"{tuple(extents)}")
    nbytes = samples * max(int(itemsize), 1)
    stored = path.stat().st_size if stored_bytes is None else int(stored_bytes)
    limit = FREE_BYTES + MAX_EXPANSION * stored
    if nbytes > limit:
        raise DataSizeError(path, field, f"a size the file's {stored} bytes can hold (at most {limit} bytes, "
                            f"{MAX_EXPANSION}× the file beyond {FREE_BYTES >> 20} MiB)",
                            f"{tuple(extents)} × {itemsize} bytes = {nbytes} bytes")
    return nbytes


def format_error_from_os(path: str | os.PathLike[str], field: str, expected: str, exc: OSError) -> Exception:
    """An OSError raised while parsing ``path``: a :class:`FormatError` naming the file when the library
    reports a format problem (no errno: HDF5's "truncated file", "file signature not found"), else ``exc``
    itself (a real I/O error, which the ingest task may retry)."""
    if exc.errno is None:
        return FormatError(path, field, expected, str(exc))
    return exc


def check_hdf5(path: str | os.PathLike[str], *, allow_external: bool = False) -> None:
    """Refuse an HDF5 file whose data are not all inside it, or that declares a dataset it cannot hold.

    External links, external raw storage and virtual datasets read other files' bytes (which the provenance
    hash would not cover): refused unless ``allow_external``. Every dataset's declared size is checked
    against the file's size (:func:`check_declared_size`) before any reader builds a graph over it, and
    every attribute is read (dimension lists, fill values: what the readers will read next).

    A damaged heap can send the HDF5 library into a loop that no signal interrupts (found by fuzzing: a
    corrupt ``DIMENSION_LIST`` attribute). The walk therefore runs in a child process (~0.2 s: it imports
    h5py only), and a file whose metadata do not parse within :data:`HDF5_PARSE_SECONDS` is refused. A
    process, not a fork: another thread may hold h5py's lock at the moment of a fork.
    """
    path = require_regular_file(path)
    code = "from spectraflow._guard import _walk_main; _walk_main()"  # imports h5py and spectraflow.errors only
    try:
        run = subprocess.run([sys.executable, "-c", code, os.fspath(path), "1" if allow_external else "0"],
                             capture_output=True, text=True, timeout=HDF5_PARSE_SECONDS)
    except subprocess.TimeoutExpired:
        raise FormatError(path, "structure", f"HDF5 metadata that parse within {HDF5_PARSE_SECONDS} s",
                          "a parse that did not end (a damaged heap)") from None
    lines = run.stdout.strip().splitlines()
    if run.returncode != 0 or not lines:  # the library aborted, or the child was killed
        raise FormatError(path, "structure", "readable HDF5 metadata",
                          f"the parser died (exit {run.returncode}): {run.stderr.strip()[-300:]}")
    verdict = json.loads(lines[-1])
    if verdict == "ok":
        return
    kind, *details = verdict
    if kind == "OSError":
        raise OSError(details[0], details[1], os.fspath(path))
    raise {"DataSizeError": DataSizeError}.get(kind, FormatError)(path, *details)


def _walk_main() -> None:
    """The child of :func:`check_hdf5`: walks ``argv[1]``, prints ``"ok"`` or ``[error class, field, expected,
    found]`` as JSON on its last line."""
    import h5py

    path, allow_external = Path(sys.argv[1]), sys.argv[2] == "1"
    verdict: Any = "ok"
    try:
        with h5py.File(path, "r") as handle:
            _walk(path, handle, allow_external)
    except FormatError as exc:
        verdict = [type(exc).__name__, exc.field, exc.expected, None if exc.found is None else str(exc.found)]
    except OSError as exc:
        verdict = (["OSError", exc.errno, exc.strerror] if exc.errno is not None
                   else ["FormatError", "structure", "a readable HDF5 file", str(exc)])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:  # h5py's errors on corrupt metadata
        verdict = ["FormatError", "structure", "readable HDF5 metadata", f"{type(exc).__name__}: {exc}"]
    print(json.dumps(verdict))


def _walk(path: Path, handle: Any, allow_external: bool) -> None:
    """Every link and dataset of the open HDF5 file ``handle``, checked (see :func:`check_hdf5`)."""
    import h5py

    seen = 0
    for attribute in handle.attrs:
        handle.attrs[attribute]
    pending: list[tuple[str, Any]] = [("", handle)]
    while pending:
        prefix, group = pending.pop()
        for name in group:
            seen += 1
            if seen > MAX_HDF5_OBJECTS:
                raise FormatError(path, "structure", f"at most {MAX_HDF5_OBJECTS} objects", "more")
            where = f"{prefix}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                if not allow_external:
                    raise FormatError(path, where, "data inside the file (external links are refused)",
                                      f"a link to {link.filename}:{link.path}")
                continue
            if isinstance(link, h5py.SoftLink):
                continue  # names an object inside the file, visited under its own name
            item = group[name]
            for attribute in item.attrs:  # what readers read next (dimension lists, fill values)
                item.attrs[attribute]
            if isinstance(item, h5py.Group):
                pending.append((where, item))
            elif isinstance(item, h5py.Dataset):
                _check_dataset(path, where, item, allow_external)


def _check_dataset(path: Path, where: str, dataset: Any, allow_external: bool) -> None:
    if not allow_external:
        if dataset.is_virtual:
            raise FormatError(path, where, "data stored in the file (virtual datasets are refused)",
                              "a virtual dataset")
        if dataset.external:
            raise FormatError(path, where, "data stored in the file (external raw storage is refused)",
                              f"external files {[str(e[0]) for e in dataset.external]}")
    if dataset.shape is not None:
        check_declared_size(path, where, dataset.shape, dataset.dtype.itemsize)
