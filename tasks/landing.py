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


def store_for(path: Path, stores: Path) -> Path:
    """The store a landed file goes to: named by its stem and the hash of its content (all its files)."""
    import hashlib

    reader = get_reader(detect_format(path))
    digest = hashlib.sha256("".join(sha256_file(f) for f in reader.source_files(path)).encode()).hexdigest()
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in path.stem).lstrip(".") or "scene"
    return stores / f"{stem}-{digest[:16]}.zarr"


@task(name="ingest-landed", retries=2, retry_delay_seconds=1, task_run_name="land {path.name}")
def ingest_landed(path: Path, stores: Path) -> Path | None:
    """Ingest ``path`` unless a store of the same content exists; return the new store or None."""
    store = store_for(path, stores)
    if store.exists():
        get_run_logger().info("%s already ingested as %s", path.name, store.name)
        return None
    ingest(path, store, name=store.stem, data_root="data")
    return store


@task(name="dvc-add")
def register(stores: list[Path]) -> None:
    """Track new stores with DVC (a .dvc pointer each; git ignores the data)."""
    from dvc.repo import Repo

    with Repo(".") as repo:
        repo.add([str(s) for s in stores])
