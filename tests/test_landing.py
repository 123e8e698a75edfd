"""The landing zone file by file: one outcome per file, a bad file never blocks the others, names made safe,
files still arriving wait, and what is ingested is exactly the file's content."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from spectraflow.io import open_store
from spectraflow.landing import land_file, landed_files, safe_stem, unregistered_stores
from spectraflow.testing.writers import write_mat_v5


def _settled(*paths: Path) -> None:
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


@pytest.fixture
def zone(workspace: Path) -> Path:
    (workspace / "data/landing").mkdir()
    return workspace / "data/landing"


def _cube(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((9, 7, 5)).astype("f4")


def test_a_bad_file_is_rejected_and_the_others_are_ingested(zone: Path, workspace: Path) -> None:
    np.save(zone / "a_first.npy", _cube(1))
    bad = write_mat_v5(zone / "b_truncated.mat", {"cube": np.random.default_rng(2).random((20, 20, 8))})
    bad.write_bytes(bad.read_bytes()[:300])
    np.save(zone / "c_last.npy", _cube(3))
    _settled(*zone.iterdir())
    stores = workspace / "data/stores/landing"
    outcomes = {p.name: land_file(p, stores, data_root="data") for p in landed_files(zone)}
    assert {k: v.status for k, v in outcomes.items()} == {"a_first.npy": "ingested", "b_truncated.mat": "rejected",
                                                         "c_last.npy": "ingested"}
    for name, seed in (("a_first.npy", 1), ("c_last.npy", 3)):
        np.testing.assert_array_equal(open_store(outcomes[name].store)["cube"].values, _cube(seed))
    rejected = zone / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == ["b_truncated.mat", "b_truncated.mat.error.txt"]
    assert "b_truncated.mat" in (rejected / "b_truncated.mat.error.txt").read_text()
    assert [p.name for p in landed_files(zone)] == ["a_first.npy", "c_last.npy"]  # never retried
    again = [land_file(p, stores, data_root="data").status for p in landed_files(zone)]
    assert again == ["known", "known"]
    assert len(unregistered_stores(stores)) == 2  # neither has a .dvc pointer yet: the flow registers both


@pytest.mark.parametrize("name", ["-starts-with-dash.npy", "szene_ü.npy", "日本.npy", "x" * 200 + ".npy"])
def test_any_file_name_lands_under_a_safe_store_name(zone: Path, workspace: Path, name: str) -> None:
    np.save(zone / name, _cube(4))
    _settled(zone / name)
    outcome = land_file(zone / name, workspace / "data/stores/landing", data_root="data")
    assert outcome.status == "ingested", outcome
    stem = outcome.store.name.rsplit("-", 1)[0]
    assert stem == safe_stem(name) and stem[0].isalnum() and len(stem) <= 64 and stem.isascii()
    sources = json.loads(open_store(outcome.store).attrs["source_files"])
    assert sources[0]["name"] == name  # the original name stays in the provenance


def test_a_file_still_arriving_waits_until_it_is_stable(zone: Path, workspace: Path) -> None:
    np.save(zone / "fresh.npy", _cube(5))
    stores = workspace / "data/stores/landing"
    assert land_file(zone / "fresh.npy", stores, settle_seconds=30).status == "waiting"
    assert not stores.exists() or not list(stores.iterdir())
    _settled(zone / "fresh.npy")
    assert land_file(zone / "fresh.npy", stores, settle_seconds=30).status == "ingested"


def test_a_file_that_grows_while_read_is_not_ingested_under_a_second_key(zone: Path, workspace: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import spectraflow.io

    path = zone / "growing.npy"
    np.save(path, _cube(6))
    _settled(path)
    real = spectraflow.io.ingest

    def ingest_while_the_copy_goes_on(*args: object, **kwargs: object) -> object:
        store = real(*args, **kwargs)  # type: ignore[arg-type]
        with open(path, "ab") as f:  # the copier appends more while (here: right after) we read
            f.write(b"\0" * 64)
        return store

    monkeypatch.setattr(spectraflow.io, "ingest", ingest_while_the_copy_goes_on)
    stores = workspace / "data/stores/landing"
    outcome = land_file(path, stores)
    assert outcome.status == "waiting" and "changed while" in outcome.message
    assert not list(stores.glob("*.zarr"))


def test_links_and_fifos_are_rejected_not_read(zone: Path, workspace: Path,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "x.npy"
    np.save(outside, _cube(7))
    os.symlink(outside, zone / "link.npy")
    os.mkfifo(zone / "pipe.npy")
    stores = workspace / "data/stores/landing"
    found = landed_files(zone)
    assert sorted(p.name for p in found) == ["link.npy", "pipe.npy"]
    statuses = {p.name: land_file(p, stores, settle_seconds=0).status for p in found}
    assert statuses == {"link.npy": "rejected", "pipe.npy": "rejected"}
    assert outside.is_file() and not list(stores.glob("*.zarr"))
    assert sorted(p.name for p in (zone / "rejected").iterdir()) == [
        "link.npy", "link.npy.error.txt", "pipe.npy", "pipe.npy.error.txt"]


def test_a_rejected_envi_pair_moves_together(zone: Path, workspace: Path) -> None:
    from spectraflow.io import write_envi

    header, raw = write_envi(zone / "pair.img", _cube(8))
    header.write_text(header.read_text().replace("data type = 4", "data type = 99"))
    _settled(header, raw)
    (found,) = landed_files(zone)  # the header stands for the pair
    outcome = land_file(found, workspace / "data/stores/landing")
    assert outcome.status == "rejected" and "data type" in outcome.message
    assert sorted(p.name for p in (zone / "rejected").iterdir()) == ["pair.hdr", "pair.hdr.error.txt", "pair.img"]
    assert not list(zone.glob("pair*"))
