"""Tasks of the landing-zone flow."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.logging import get_run_logger

from spectraflow.errors import SpectraflowError
from spectraflow.io import detect_format, get_reader, ingest, sha256_file


def scene_files(directory: Path) -> list[Path]:
    """Files in ``directory`` that open as scenes; an ENVI pair is represented by its header."""
    found = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            name = detect_format(path)
        except SpectraflowError:
            continue
        if name == "envi" and path.suffix.lower() != ".hdr":
            continue  # the raw half of a pair; the header stands for it
        found.append(path)
    return found


def content_key(path: Path) -> str:
    """A key of the scene's content: the sha256 over the hashes of all its files (ENVI: raw and header)."""
    import hashlib

    reader = get_reader(detect_format(path))
    return hashlib.sha256("".join(sha256_file(f) for f in reader.source_files(path)).encode()).hexdigest()[:16]


@task(name="ingest-landed", retries=2, retry_delay_seconds=1, task_run_name="land {path.name}")
def ingest_landed(path: Path, stores: Path) -> Path | None:
    """Ingest ``path`` unless a store of the same content exists (whatever its file name); return the new store."""
    key = content_key(path)
    existing = sorted(stores.glob(f"*-{key}.zarr"))
    if existing:
        get_run_logger().info("%s already ingested as %s", path.name, existing[0].name)
        return None
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in path.stem).lstrip(".") or "scene"
    store = stores / f"{stem}-{key}.zarr"
    ingest(path, store, name=store.stem, data_root="data")
    return store


@task(name="dvc-add")
def register(stores: list[Path]) -> None:
    """Track new stores with DVC (a .dvc pointer each; git ignores the data)."""
    from dvc.repo import Repo

    with Repo(".") as repo:
        repo.add([str(s) for s in stores])
