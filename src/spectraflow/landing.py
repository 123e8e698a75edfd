"""The landing zone: files dropped in a directory become stores, one outcome per file, none blocking another.

Each file the zone holds ends a pass in exactly one state (:class:`Landed`):

``ingested``
    read and written to ``<stores>/<safe name>-<content key>.zarr``; the key is a hash of the scene's files,
    so the same content dropped again under any name is ``known``, never ingested twice.
``known``
    a store of the same content exists.
``waiting``
    the file may still be arriving: it was modified less than ``settle_seconds`` ago, or its size or
    modification time changed while it was read (the store made from it is then discarded). It is taken on
    a later pass, once stable. Writers that cannot guarantee this can copy to a dot-file and rename it in
    (dot-files are never taken).
``rejected``
    it cannot be read as a scene: moved to ``<directory>/rejected/`` with ``<name>.error.txt`` holding the
    message, so it is never retried and never blocks the others. A drop of the same name later is a new file.

Only an I/O error (``OSError`` that is not a spectraflow error) leaves a file in place, for the caller to
retry. Store names are the file's stem made safe (ASCII letters, digits, ``.``, ``_``, ``-``; at most
:data:`MAX_STEM` characters; never starting with ``-`` or ``.``); the original file name stays in the store's
provenance (``source_files``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import SpectraflowError

__all__ = ["Landed", "MAX_STEM", "REJECTED", "safe_stem", "landed_files", "land_file", "unregistered_stores"]

MAX_STEM = 64
REJECTED = "rejected"
Status = Literal["ingested", "known", "waiting", "rejected"]


@dataclass(frozen=True)
class Landed:
    """What became of one landed file: its ``status``, the store (ingested or known) or the reason."""

    path: Path
    status: Status
    store: Path | None = None
    message: str = ""


def safe_stem(name: str) -> str:
    """A store-name stem for file ``name``: accents dropped, other characters '_', at most :data:`MAX_STEM`."""
    stem = Path(name).stem
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).lstrip("._-")[:MAX_STEM].rstrip("._-")
    return safe or "scene"


def landed_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The files of the zone to consider, one per scene: not dot-files, not the rejected ones, not the raw half
    of an ENVI pair (its header stands for it)."""
    from .io import detect_format

    found = []
    for path in sorted(Path(directory).iterdir()):
        if path.name.startswith(".") or path.name == REJECTED or path.is_dir():
            continue
        if path.suffix.lower() != ".hdr" and (path.with_name(path.name + ".hdr").exists()
                                               or path.with_suffix(".hdr").exists()):
            try:
                if detect_format(path) == "envi":
                    continue
            except SpectraflowError:
                pass  # judged on its own below
        found.append(path)
    return found


def _stamp(files: list[Path]) -> tuple[tuple[int, int], ...]:
    return tuple((f.stat().st_size, f.stat().st_mtime_ns) for f in files)


def content_key(files: list[Path]) -> str:
    """A key of a scene's content: sha256 over the sha256 of each of its files."""
    from .io import sha256_file

    return hashlib.sha256("".join(sha256_file(f) for f in files).encode()).hexdigest()[:16]


def land_file(path: str | os.PathLike[str], stores: str | os.PathLike[str], *, settle_seconds: float = 2.0,
              data_root: str | os.PathLike[str] | None = None) -> Landed:
    """Bring one landed file to a final state for this pass (see the module's docstring).

    ``data_root`` (when given) is the directory the store must stay inside. Raises only ``OSError`` (an I/O
    failure worth retrying); every reading error is a rejection.
    """
    from .io import detect_format, get_reader, ingest

    path, stores = Path(path), Path(stores)
    if path.is_symlink():
        return reject(path, f"{path}: a symbolic link (to {os.readlink(path)}); the landing zone takes only files "
                            "copied into it")
    try:
        files = get_reader(detect_format(path)).source_files(path)
        before = _stamp(files)
        if time.time() - max(mtime for _, mtime in before) / 1e9 < settle_seconds:
            return Landed(path, "waiting", message=f"modified less than {settle_seconds} s ago")
        key = content_key(files)
        existing = sorted(stores.glob(f"*-{key}.zarr"))
        if existing:
            return Landed(path, "known", existing[0])
        store = stores / f"{safe_stem(path.name)}-{key}.zarr"
        ingest(path, store, name=store.stem, data_root=data_root)
        if _stamp(files) != before:  # it grew or changed while read: this store is not of the final file
            shutil.rmtree(store)
            return Landed(path, "waiting", message="changed while it was read")
        return Landed(path, "ingested", store)
    except SpectraflowError as exc:
        return reject(path, str(exc))


def reject(path: Path, message: str) -> Landed:
    """Move ``path`` (with an ENVI pair's other half) into the zone's rejected folder beside its message."""
    from .io._envi import find_envi_pair

    rejected = path.parent / REJECTED
    rejected.mkdir(exist_ok=True)
    moved = []
    companions = []
    if path.suffix.lower() == ".hdr":
        try:
            companions = [find_envi_pair(path)[1]]
        except SpectraflowError:
            pass  # a header without its raw file goes alone
    for item in [path, *companions]:
        target = rejected / item.name
        if target.exists():  # an earlier drop of the same name: keep both
            target = rejected / f"{item.stem}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}{item.suffix}"
        os.replace(item, target)
        moved.append(target)
    (rejected / f"{moved[0].name}.error.txt").write_text(message + "\n", encoding="utf-8")
    return Landed(path, "rejected", message=message)


def unregistered_stores(stores: str | os.PathLike[str]) -> list[Path]:
    """Stores of the zone that have no ``.dvc`` pointer yet (ingested by a pass that stopped before adding them)."""
    stores = Path(stores)
    if not stores.is_dir():
        return []
    return sorted(s for s in stores.glob("*.zarr") if not s.with_name(s.name + ".dvc").exists())
