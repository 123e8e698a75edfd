"""The landing zone: files dropped in a directory become acquisitions, scenes of the collection.

Each file the zone holds ends a pass in exactly one state (:class:`Landed`):

``accepted``
    its format is recognised and its structure reads (header, declared shape and size, band metadata: the
    reader's ``open``, which reads no pixel data); its file(s) are moved into ``<acquisitions>/<scene>/`` with
    ``landed.json`` (the content key, the original names, the time), and the caller adds ``<scene>`` to the
    collection. The scene name is the file's stem made safe (:func:`scene_name`), with ``-<key>`` appended
    when the collection already has that name.
``known``
    an acquisition of the same content (sha256 over its files: the content key) exists: the drop is removed
    from the zone (its content is kept there), and the message names the scene.
``waiting``
    the file may still be arriving: it was modified less than ``settle_seconds`` ago, or its size or
    modification time changed while it was hashed. It is taken on a later pass, once stable. Writers that
    cannot guarantee this can copy to a dot-file and rename it in (dot-files are never taken).
``rejected``
    it cannot be read as a scene: moved to ``<directory>/rejected/`` with ``<name>.error.txt`` holding the
    message, so it is never retried and never blocks the others. A drop of the same name later is a new file.

A file whose structure reads but whose pixels fail later (a non-finite value under ``nonfinite: refuse``)
fails its own ``ingest@<scene>`` stage in the pipeline run, which names it; the other scenes go on.
Only an I/O error (``OSError`` that is not a spectraflow error) leaves a file in place, for the caller to
retry. Moving is crash-safe: the files are linked (or copied) into a hidden directory, which is renamed into
place once complete, and only then removed from the zone; a pass that stops in between leaves either the
drop (taken again, then ``known``) or both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import time
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._atomic import atomic_output
from .collection import check_scene_name
from .errors import SpectraflowError

__all__ = ["Landed", "MAX_STEM", "REJECTED", "LANDED_RECORD", "safe_stem", "scene_name", "landed_files", "land_file",
           "acquisitions"]

MAX_STEM = 64
REJECTED = "rejected"
LANDED_RECORD = "landed.json"
ACQUISITION = "acquisition"  # the output kind of an acquisition directory
Status = Literal["accepted", "known", "waiting", "rejected"]


@dataclass(frozen=True)
class Landed:
    """What became of one landed file: its ``status``, the scene (accepted or known) or the reason."""

    path: Path
    status: Status
    scene: str | None = None
    message: str = ""


def safe_stem(name: str) -> str:
    """A store-name stem for file ``name``: accents dropped, other characters '_', at most :data:`MAX_STEM`."""
    stem = Path(name).stem
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).lstrip("._-")[:MAX_STEM].rstrip("._-")
    return safe or "scene"


def scene_name(name: str, key: str, taken: Collection[str]) -> str:
    """The scene name of a landed file ``name``: its safe stem with ``.`` as ``_`` (a DVC stage name takes no
    dots), ``-<key[:8]>`` appended if ``taken`` has it."""
    stem = safe_stem(name).replace(".", "_")[: MAX_STEM - 9]
    return check_scene_name(stem if stem not in taken else f"{stem}-{key[:8]}")


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


def acquisitions(directory: str | os.PathLike[str]) -> dict[str, dict[str, object]]:
    """The acquisitions under ``directory``: scene name -> its ``landed.json`` record (key, files, time)."""
    found = {}
    for record in sorted(Path(directory).glob(f"*/{LANDED_RECORD}")):
        found[record.parent.name] = json.loads(record.read_text(encoding="utf-8"))
    return found


def land_file(path: str | os.PathLike[str], acquisitions_dir: str | os.PathLike[str], *,
              taken: Collection[str] = (), settle_seconds: float = 2.0) -> Landed:
    """Bring one landed file to a final state for this pass (see the module's docstring).

    ``taken``: the collection's scene names (a new scene gets another). Raises only ``OSError`` (an I/O failure
    worth retrying); every reading error is a rejection.
    """
    from .io import detect_format, get_reader

    path, target_root = Path(path), Path(acquisitions_dir)
    if path.is_symlink():
        return reject(path, f"{path}: a symbolic link (to {os.readlink(path)}); the landing zone takes only files "
                            "copied into it")
    try:
        reader = get_reader(detect_format(path))
        files = reader.source_files(path)
        before = _stamp(files)
        if time.time() - max(mtime for _, mtime in before) / 1e9 < settle_seconds:
            return Landed(path, "waiting", message=f"modified less than {settle_seconds} s ago")
        reader.open(path)  # the structure must read: header, declared shape against the file's size, bands
    except SpectraflowError as exc:
        return reject(path, str(exc))
    key = content_key(files)
    if _stamp(files) != before:  # it grew or changed while hashed: not the final file yet
        return Landed(path, "waiting", message="changed while it was read")
    existing = acquisitions(target_root)
    same = sorted(name for name, record in existing.items() if record.get("key") == key)
    if same:
        for f in files:
            f.unlink()
        return Landed(path, "known", same[0], f"the same content as acquisition {same[0]}; the drop was removed")
    scene = scene_name(path.name, key, {*taken, *existing})
    _move_into(files, target_root / scene, {"key": key, "files": [f.name for f in files],
                                            "landed": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    return Landed(path, "accepted", scene)


def _move_into(files: list[Path], dest: Path, record: dict[str, object]) -> None:
    """Move ``files`` into the new directory ``dest`` with ``record`` beside them: linked (or copied) into a
    temporary directory that :func:`~spectraflow._atomic.atomic_output` renames into place complete, then
    removed from where they were."""
    with atomic_output(dest, ACQUISITION) as partial:
        partial.mkdir(parents=True)
        for f in files:
            try:
                os.link(f, partial / f.name)
            except OSError:
                shutil.copy2(f, partial / f.name)
        (partial / LANDED_RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    for f in files:
        f.unlink()


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
