"""The landing zone file by file: one outcome per file, a bad file never blocks the others, names made safe,
files still arriving wait, and what is accepted is exactly the file's content, moved into an acquisition."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from spectraflow._atomic import MARKER
from spectraflow.collection import add_scenes, check_scene_name, scene_entries
from spectraflow.config import load_params
from spectraflow.errors import ConfigError
from spectraflow.io import read
from spectraflow.landing import LANDED_RECORD, acquisitions, land_file, landed_files, safe_stem
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


def test_a_bad_file_is_rejected_and_the_others_are_accepted(zone: Path, workspace: Path) -> None:
    np.save(zone / "a_first.npy", _cube(1))
    bad = write_mat_v5(zone / "b_truncated.mat", {"cube": np.random.default_rng(2).random((20, 20, 8))})
    bad.write_bytes(bad.read_bytes()[:300])
    np.save(zone / "c.last.npy", _cube(3))
    _settled(*zone.iterdir())
    target = workspace / "data/acquisitions"
    outcomes = {p.name: land_file(p, target) for p in landed_files(zone)}
    assert {k: (v.status, v.scene) for k, v in outcomes.items()} == {
        "a_first.npy": ("accepted", "a_first"), "b_truncated.mat": ("rejected", None),
        "c.last.npy": ("accepted", "c_last")}  # '.' is no part of a scene (stage) name
    for scene, name, seed in (("a_first", "a_first.npy", 1), ("c_last", "c.last.npy", 3)):
        np.testing.assert_array_equal(read(target / scene / name)["cube"].values, _cube(seed))
        record = json.loads((target / scene / LANDED_RECORD).read_text())
        assert record["files"] == [name] and len(record["key"]) == 16
    rejected = zone / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == ["b_truncated.mat", "b_truncated.mat.error.txt"]
    assert "b_truncated.mat" in (rejected / "b_truncated.mat.error.txt").read_text()
    assert landed_files(zone) == []  # accepted ones moved out, the rejected one never retried
    assert sorted(acquisitions(target)) == ["a_first", "c_last"]


def test_the_same_content_again_is_known_and_a_new_content_under_a_taken_name_gets_a_new_scene(
        zone: Path, workspace: Path) -> None:
    target = workspace / "data/acquisitions"
    np.save(zone / "scene.npy", _cube(1))
    _settled(zone / "scene.npy")
    first = land_file(zone / "scene.npy", target, taken={"aviris"})
    np.save(zone / "copy.npy", _cube(1))  # the same content under another name
    np.save(zone / "scene.npy", _cube(2))  # another content under the first name
    _settled(*zone.iterdir())
    again = land_file(zone / "copy.npy", target)
    other = land_file(zone / "scene.npy", target)
    assert (first.status, first.scene) == ("accepted", "scene")
    assert (again.status, again.scene) == ("known", "scene") and not (zone / "copy.npy").exists()
    key = json.loads((target / other.scene / LANDED_RECORD).read_text())["key"]
    assert other.status == "accepted" and other.scene == f"scene-{key[:8]}"
    np.testing.assert_array_equal(read(target / other.scene / "scene.npy")["cube"].values, _cube(2))


@pytest.mark.parametrize("name", ["-starts-with-dash.npy", "szene_ü.npy", "日本.npy", "x" * 200 + ".npy"])
def test_any_file_name_lands_under_a_safe_scene_name(zone: Path, workspace: Path, name: str) -> None:
    np.save(zone / name, _cube(4))
    _settled(zone / name)
    outcome = land_file(zone / name, workspace / "data/acquisitions")
    assert outcome.status == "accepted", outcome
    assert check_scene_name(outcome.scene) and outcome.scene.startswith(safe_stem(name)[:8].replace(".", "_"))
    kept = workspace / "data/acquisitions" / outcome.scene / name
    np.testing.assert_array_equal(np.load(kept), _cube(4))  # the file keeps its original name


def test_a_file_still_arriving_waits_until_it_is_stable(zone: Path, workspace: Path) -> None:
    np.save(zone / "fresh.npy", _cube(5))
    target = workspace / "data/acquisitions"
    assert land_file(zone / "fresh.npy", target, settle_seconds=30).status == "waiting"
    assert not target.exists() or not list(target.iterdir())
    _settled(zone / "fresh.npy")
    assert land_file(zone / "fresh.npy", target, settle_seconds=30).status == "accepted"


def test_a_file_that_grows_while_read_waits(zone: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spectraflow.landing

    path = zone / "growing.npy"
    np.save(path, _cube(6))
    _settled(path)
    real = spectraflow.landing.content_key

    def hash_while_the_copy_goes_on(files: list[Path]) -> str:
        key = real(files)
        with open(path, "ab") as f:  # the copier appends more while (here: right after) we read
            f.write(b"\0" * 64)
        return key

    monkeypatch.setattr(spectraflow.landing, "content_key", hash_while_the_copy_goes_on)
    outcome = land_file(path, workspace / "data/acquisitions")
    assert outcome.status == "waiting" and "changed while" in outcome.message
    assert path.exists() and not (workspace / "data/acquisitions").exists()


def test_links_and_fifos_are_rejected_not_read(zone: Path, workspace: Path,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "x.npy"
    np.save(outside, _cube(7))
    os.symlink(outside, zone / "link.npy")
    os.mkfifo(zone / "pipe.npy")
    target = workspace / "data/acquisitions"
    found = landed_files(zone)
    assert sorted(p.name for p in found) == ["link.npy", "pipe.npy"]
    statuses = {p.name: land_file(p, target, settle_seconds=0).status for p in found}
    assert statuses == {"link.npy": "rejected", "pipe.npy": "rejected"}
    assert outside.is_file() and not target.exists()
    assert sorted(p.name for p in (zone / "rejected").iterdir()) == [
        "link.npy", "link.npy.error.txt", "pipe.npy", "pipe.npy.error.txt"]


def test_envi_pairs_move_together(zone: Path, workspace: Path) -> None:
    from spectraflow.io import write_envi

    header, raw = write_envi(zone / "pair.img", _cube(8))
    good_header, good_raw = write_envi(zone / "good.img", _cube(9))
    header.write_text(header.read_text().replace("data type = 4", "data type = 99"))
    _settled(header, raw, good_header, good_raw)
    found = landed_files(zone)  # each header stands for its pair
    assert [p.name for p in found] == ["good.hdr", "pair.hdr"]
    outcomes = [land_file(p, workspace / "data/acquisitions") for p in found]
    assert outcomes[0].status == "accepted" and sorted(p.name for p in (workspace / "data/acquisitions/good")
                                                        .iterdir()) == [MARKER, "good.hdr", "good.img", LANDED_RECORD]
    assert outcomes[1].status == "rejected" and "data type" in outcomes[1].message
    assert sorted(p.name for p in (zone / "rejected").iterdir()) == ["pair.hdr", "pair.hdr.error.txt", "pair.img"]
    assert not list(zone.glob("*.hdr")) and not list(zone.glob("*.img"))


def test_add_scenes_appends_one_line_per_scene_and_changes_nothing_else(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    original = ("# a comment kept\ncollection:\n  parallel: 2\n  scenes:\n"
                "    a: {source_dir: data/raw/a, source: a.hdr}\n"
                "    b:\n      source_dir: data/raw/b   # why\n      source: b.hdr\n\n# next\ningest: {format: null}\n")
    params.write_text(original)
    add_scenes(params, {"new_1": {"source_dir": "data/acquisitions/new_1", "source": "x.tif", "nonfinite": "mask",
                                  "preprocess": {"patches": None}}})
    text = params.read_text()
    assert text.replace("    new_1: {source_dir: data/acquisitions/new_1, source: x.tif, nonfinite: mask, "
                        "preprocess: {patches: null}}\n", "") == original
    assert list(scene_entries(load_params(params))) == ["a", "b", "new_1"]
    with pytest.raises(ConfigError, match="already in the collection"):
        add_scenes(params, {"a": {"source_dir": "x", "source": "y"}})
    with pytest.raises(ConfigError, match="unknown key"):
        add_scenes(params, {"c": {"source_dir": "x", "source": "y", "colour": "red"}})
    assert params.read_text() == text  # refused before writing
