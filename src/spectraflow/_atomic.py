"""Write-beside-then-rename: outputs appear whole at their destination or not at all.

A writer gets a temporary path next to the destination (same directory, so the rename never crosses a
file system), writes there, and on success the temporary is swapped into place. On Linux an existing
directory is replaced with ``renameat2(RENAME_EXCHANGE)``: at every instant the destination holds either
the complete old version or the complete new one. Elsewhere the old one is moved aside first, leaving a
moment with no destination (never a half-written one).

Temporaries are named ``.<name>.partial-<pid>-<random>``; those left by a killed process (pid no longer
alive) are removed by the next write to the same destination.
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

__all__ = ["atomic_output", "remove_stale_partials", "write_json", "write_csv"]

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
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _pid_alive(pid: int) -> bool:
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
        try:
            pid = int(candidate.name.rsplit(".partial-", 1)[1].split("-", 1)[0])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid) or pid == os.getpid():
            _remove(candidate)
            removed.append(candidate)
    for candidate in dest.parent.glob(f".{dest.name}.old-*"):
        _remove(candidate)
        removed.append(candidate)
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


@contextlib.contextmanager
def atomic_output(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on normal exit it replaces ``dest``, on error it is removed."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(dest)
    tmp = dest.parent / f".{dest.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
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
