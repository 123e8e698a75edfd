"""Write-beside-then-rename: outputs appear whole at their destination or not at all.

A writer gets a temporary path next to the destination (same directory, so the rename never crosses a
file system), writes there, and on success the temporary is swapped into place. On Linux an existing
directory is replaced with ``renameat2(RENAME_EXCHANGE)``: at every instant the destination holds either
the complete old version or the complete new one. Elsewhere the old one is moved aside first, leaving a
moment with no destination (never a half-written one).

Temporaries are named ``.<name>.partial-<pid>-<random>``; those left by a killed process (pid no longer
alive) are removed by the next write to the same destination, and by :func:`remove_journaled` when the process
that started the writer keeps a journal of its temporaries (:data:`JOURNAL_VARIABLE`: the warm server's
supervisor of a stage, which outlives a ``kill -9`` of the stage; DVC may then restore the output from its run
cache, and no write of ours would come to clear them).

Publishing never deletes what is not a previous output of the same kind. A directory output names its
kind in its own metadata: a zarr store in its root attributes (``spectraflow_output``), any other directory
(a checkpoint) in a marker file, ``.spectraflow-output``. An existing destination is replaced only when it is
a directory of the same kind (a file output: only when it is a regular file).
Anything else — a directory of raw scenes, the repository's ``tasks/``, a store of another stage, a file
where a store should go — is refused with :class:`~spectraflow.errors.OutputConflictError`, before any work
when the caller checks first (:func:`check_replaceable`).

Durability: files and directories are fsynced before the rename that publishes them, and the parent
directory after it, so a power loss leaves the old output or the new one, as ``kill -9`` does.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import ctypes.util
import json
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import OutputConflictError

__all__ = ["atomic_output", "check_replaceable", "output_kind", "pid_alive", "remove_journaled",
           "remove_stale_partials", "write_json", "write_csv", "MARKER", "KIND_ATTRIBUTE", "FILE", "JOURNAL_VARIABLE"]

#: The file inside a directory output (not a zarr store) that names its kind.
MARKER = ".spectraflow-output"
#: The root attribute of a zarr store that names its kind.
KIND_ATTRIBUTE = "spectraflow_output"
#: The kind of a plain file output (metrics, tables, figures, the report): replaces a regular file only.
FILE = "file"
#: A file to which each temporary's path is appended as it is made (for :func:`remove_journaled`), when set.
JOURNAL_VARIABLE = "SPECTRAFLOW_PARTIALS_JOURNAL"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically swap ``a`` and ``b``; False where the platform cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def _remove(path: Path) -> None:
    """Remove ``path``. A directory is first renamed aside, so writers still running (threads of a failed
    write) cannot recreate anything under its name: their next open fails instead (see the shard writer,
    which creates directories only inside an existing store)."""
    if path.is_dir() and not path.is_symlink():
        aside = path.parent / f".{path.name.lstrip('.')}.old-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(path, aside)
        except OSError:
            aside = path
        for _ in range(5):  # a writer may still add a file to a directory being emptied: go again
            shutil.rmtree(aside, ignore_errors=True)
            if not os.path.lexists(aside):
                break
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def output_kind(path: str | os.PathLike[str]) -> str | None:
    """The kind recorded in directory output ``path`` (a zarr store's root attribute, or the marker file), or
    None when it has none. Checkpoints written before the marker existed are recognised by their ``model.json``.
    """
    path = Path(path)
    if (path / "zarr.json").is_file():
        try:
            kind = json.loads((path / "zarr.json").read_text()).get("attributes", {}).get(KIND_ATTRIBUTE)
        except (OSError, ValueError, AttributeError):
            return None
        return str(kind) if kind else None
    try:
        return str(json.loads((path / MARKER).read_text())["kind"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        meta = json.loads((path / "model.json").read_text())
        return "checkpoint" if isinstance(meta, dict) and {"format", "family", "config"} <= set(meta) else None
    except (OSError, ValueError):
        return None


def check_replaceable(dest: str | os.PathLike[str], kind: str) -> None:
    """Refuse (:class:`OutputConflictError`) when ``dest`` holds anything but a previous output of ``kind``."""
    dest = Path(dest)
    if not os.path.lexists(dest):
        return
    if kind == FILE:
        if dest.is_file():
            return
        found = "a directory" if dest.is_dir() else "not a regular file"
    elif dest.is_dir() and not dest.is_symlink():
        existing = output_kind(dest)
        if existing == kind:
            return
        found = (f"a spectraflow '{existing}' output" if existing
                 else "a directory that is not a spectraflow output (no marker file)")
    else:
        found = "a symbolic link" if dest.is_symlink() else "a file"
    raise OutputConflictError(dest, kind, found)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(dest: Path) -> list[Path]:
    """Remove temporaries of ``dest`` whose writing process is gone; return what was removed."""
    removed = []
    for candidate in dest.parent.glob(f".{dest.name}.partial-*"):
        pid = _writer(candidate)
        if pid is None:
            continue
        if not pid_alive(pid) or pid == os.getpid():
            _remove(candidate)
            removed.append(candidate)
    for candidate in dest.parent.glob(f".{dest.name}.old-*"):
        _remove(candidate)
        removed.append(candidate)
    return removed


def _writer(temporary: Path) -> int | None:
    """The pid in a temporary's name."""
    try:
        return int(temporary.name.rsplit(".partial-", 1)[1].split("-", 1)[0])
    except (IndexError, ValueError):
        return None


def remove_journaled(journal: Path) -> list[Path]:
    """Remove the temporaries listed in ``journal`` (see :data:`JOURNAL_VARIABLE`) whose writer is gone; return
    what was removed."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for line in journal.read_text().splitlines():
            temporary = Path(line)
            pid = _writer(temporary)
            if pid is not None and not pid_alive(pid) and os.path.lexists(temporary):
                _remove(temporary)
                removed.append(temporary)
    return removed


def replace(tmp: Path, dest: Path) -> None:
    """Move the finished ``tmp`` to ``dest``, replacing what is there."""
    if not dest.exists() and not dest.is_symlink():
        os.rename(tmp, dest)
    elif dest.is_dir() and not dest.is_symlink():
        if _renameat2_exchange(tmp, dest):
            _remove(tmp)  # tmp now holds the previous version
        else:
            old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(dest, old)
            os.rename(tmp, dest)
            _remove(old)
    else:
        os.replace(tmp, dest)  # files: rename(2) replaces atomically
    _fsync_dir(dest.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(path: Path) -> None:
    """Flush ``path`` (a file, or a directory with everything in it) to the disk."""
    if path.is_dir():
        for root, _, files in os.walk(path):
            for name in files:
                _fsync_file(Path(root) / name)
            _fsync_dir(Path(root))
    elif path.exists():
        _fsync_file(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mark(tmp: Path, dest: Path, kind: str) -> None:
    """Record ``kind`` in the finished directory output ``tmp``."""
    if not tmp.is_dir():
        raise TypeError(f"{dest}: a '{kind}' output must be written as a directory")
    if (tmp / "zarr.json").is_file():  # a store: in its own metadata (a stray file would upset zarr's listing)
        import zarr

        zarr.open_group(tmp, mode="r+").attrs[KIND_ATTRIBUTE] = kind  # keeps the consolidated metadata
    else:
        (tmp / MARKER).write_text(json.dumps({"kind": kind, "format": 1}) + "\n")


@contextlib.contextmanager
def atomic_output(dest: str | os.PathLike[str], kind: str = FILE) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on normal exit it replaces ``dest``, on error it is removed.

    ``kind`` names what ``dest`` holds (:data:`FILE`, or a directory output's kind such as ``"scene"``): what
    is at ``dest`` already is replaced only when it is a previous output of that kind (checked before and
    again after the work). A directory output gets the marker naming its kind.
    """
    dest = Path(dest)
    check_replaceable(dest, kind)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(dest)
    tmp = dest.parent / f".{dest.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    journal = os.environ.get(JOURNAL_VARIABLE)
    if journal:
        with open(journal, "a") as lines:
            lines.write(f"{tmp.resolve()}\n")
    try:
        yield tmp
        if kind != FILE:
            _mark(tmp, dest, kind)
        _fsync_tree(tmp)
        check_replaceable(dest, kind)  # the work may have taken long: the destination may have changed
    except BaseException:
        _remove(tmp)
        raise
    replace(tmp, dest)


def write_json(dest: str | os.PathLike[str], value: Any) -> Path:
    """``value`` as indented JSON at ``dest`` (metrics files DVC reads), written beside and renamed."""
    with atomic_output(dest) as tmp:
        tmp.write_text(json.dumps(value, indent=2) + "\n")
    return Path(dest)


def write_csv(dest: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]]) -> Path:
    """Rows of one set of columns as CSV at ``dest`` (tables and curves ``dvc plots`` reads), atomically."""
    if not rows:
        raise ValueError(f"{dest}: no rows to write")
    with atomic_output(dest) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Path(dest)
