"""The reader contract and the registry every format module registers into."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import xarray as xr

from .._registry import Registry
from ..cube import source_entry
from ..errors import ConfigError, FormatError

__all__ = ["ChunkSpec", "Reader", "readers", "sha256_file", "source_entries", "tree_sha256", "wanted_chunks"]

#: Dask chunks a reader is asked for: sizes per dim (missing or -1: whole), or a function of the cube's
#: ``(y, x, band)`` shape and item size giving them, for callers that choose chunks from the shape
#: (ingest aligns them with the store's shards) without opening the file twice.
ChunkSpec = Mapping[str, int] | Callable[[tuple[int, int, int], int], Mapping[str, int]] | None


def wanted_chunks(chunks: ChunkSpec, shape: tuple[int, ...], itemsize: int,
                  source: str | Path) -> dict[str, int]:
    """``chunks`` resolved for a cube of ``shape``, as ``{"y": .., "x": .., "band": ..}`` (-1: whole).

    Refuses a cube with an empty dimension (there is nothing to chunk, store or process), naming ``source``.
    """
    if len(shape) != 3 or min(int(s) for s in shape) < 1:
        raise FormatError(source, "shape", "at least one row, column and band (y, x, band)", tuple(shape))
    if callable(chunks):
        ny, nx, nb = (int(s) for s in shape)
        chunks = chunks((ny, nx, nb), itemsize)
    return {d: int((chunks or {}).get(d, -1)) for d in ("y", "x", "band")}


class Reader(ABC):
    """One input format.

    A reader is registered with ``@readers.register("name")``; the registry sets ``name``. It must

    - recognise its files by content in :meth:`sniff` (cheap: read a few bytes, never the data),
    - list in :meth:`source_files` every file the scene is read from (hashed for provenance),
    - return from :meth:`open` a scene following :mod:`spectraflow.cube`, *lazily*: the cube is a dask
      array whose blocks read only their own window, chunked as ``chunks`` asks (see :data:`ChunkSpec`;
      resolve it with :func:`wanted_chunks` once the shape is known). Provenance ``sha256`` fields are left empty;
      :func:`spectraflow.io.read` fills them.

    Errors about the file are :class:`~spectraflow.errors.FormatError` subclasses naming the file, the
    field and what was expected. The conformance suite in :mod:`spectraflow.testing.readers` checks all of it.
    """

    name: ClassVar[str] = ""
    #: Version of the reader's interpretation of its format; bump when the same file would read differently.
    version: ClassVar[str] = "1.0"
    #: File name endings that make this reader the first guess (content still decides).
    extensions: ClassVar[tuple[str, ...]] = ()

    @classmethod
    @abstractmethod
    def sniff(cls, path: Path) -> bool:
        """Whether ``path`` looks like this format, judged from its content."""

    def source_files(self, path: Path) -> list[Path]:
        """Every file the scene at ``path`` is read from, primary first."""
        return [path]

    @abstractmethod
    def open(self, path: Path, *, chunks: ChunkSpec = None, name: str | None = None,
             **options: Any) -> xr.Dataset:
        """Open ``path`` lazily as a scene."""

    def reject_options(self, path: Path, options: Mapping[str, Any], allowed: Iterable[str] = ()) -> None:
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            allowed_text = ", ".join(sorted(allowed)) or "none"
            raise ConfigError(f"{path}: reader '{self.name}' got unknown option(s) {unknown}; allowed: {allowed_text}")


class _ReaderRegistry(Registry[type[Reader]]):
    def register(self, name: str) -> Callable[[type[Reader]], type[Reader]]:
        decorate = super().register(name)

        def set_name(cls: type[Reader]) -> type[Reader]:
            cls.name = name
            return decorate(cls)

        return set_name


readers: Registry[type[Reader]] = _ReaderRegistry("reader")


def sha256_file(path: str | Path, block: int = 8 << 20, digest: Any = None) -> str:
    """The sha256 of a file's bytes (fed into ``digest`` when given, which then holds more than this file)."""
    digest = hashlib.sha256() if digest is None else digest
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(path: str | Path) -> str:
    """The sha256 of a file, or of a directory's files: each file's path relative to ``path``, its size and its
    bytes, in sorted order. Python's bytecode caches are left out (``.dvcignore`` leaves them out of DVC's
    hashes too: importing the code must not change its digest)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: nothing there to hash")
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    digest = hashlib.sha256()
    for file in files:
        name = file.name if file == path else file.relative_to(path).as_posix()
        digest.update(f"{name}\0{file.stat().st_size}\0".encode())
        sha256_file(file, digest=digest)
    return digest.hexdigest()


def source_entries(paths: Iterable[Path], hashes: Mapping[Path, str] | None = None) -> list[dict[str, Any]]:
    """Provenance entries for ``paths``; sha256 taken from ``hashes`` or left empty."""
    hashes = hashes or {}
    return [source_entry(p.name, hashes.get(p, ""), p.stat().st_size) for p in paths]
