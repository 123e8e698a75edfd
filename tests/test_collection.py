"""The collection: params.yaml's scenes, the per-scene stages DVC expands from them, the default collection's
sensors and nodata, and how methods and scores treat missing pixels."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from spectraflow.collection import (
    COMPANION_STAGE,
    PER_SCENE_STAGES,
    STAGE_STORES,
    SceneLayout,
    companion_entries,
    scene_stages,
    stage_values,
)
from spectraflow.cube import fill_invalid
from spectraflow.errors import ConfigError
from spectraflow.io import ingest, open_store
from spectraflow.metrics import denoising_scores
from spectraflow.synth import sensor_grid, synthetic_scene, write_scene_envi

from .conftest import REPO


def _stages(workspace: Path) -> dict[str, list[str]]:
    from dvc.repo import Repo

    with Repo(str(workspace), uninitialized=True) as repo:
        return {stage.name: [out.def_path for out in stage.outs] for stage in repo.index.stages}


def test_dvc_expands_the_per_scene_stages_at_the_layouts_paths() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    stages = _stages(REPO)
    for scene in params["collection"]["scenes"]:
        layout = SceneLayout(scene)
        for stage in PER_SCENE_STAGES:
            outs = stages[f"{stage}@{scene}"]
            assert layout.store(STAGE_STORES[stage][1]) in outs
            assert layout.metrics(stage) in outs
            assert stage_values(params, stage, scene)["out"] == layout.store(STAGE_STORES[stage][1])


def test_dvc_expands_the_fuse_stage_for_the_scenes_with_a_companion_only() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    stages = _stages(REPO)
    companions = companion_entries(params)
    assert companions and set(companions) < set(params["collection"]["scenes"])
    assert {name for name in stages if name.startswith(f"{COMPANION_STAGE}@")} == {
        f"{COMPANION_STAGE}@{scene}" for scene in companions}
    for scene in companions:
        layout, values = SceneLayout(scene), stage_values(params, COMPANION_STAGE, scene)
        assert {layout.store("companion"), layout.store("fused"), layout.metrics("fuse")} <= set(
            stages[f"fuse@{scene}"])
        assert values["out"] == layout.store("fused") and values["companion_store"] == layout.store("companion")
        assert values["input"] == layout.store("scene") and "companions" not in values


def test_dvc_expands_the_unmixing_network_for_the_scenes_it_lists_only() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    stages = _stages(REPO)
    listed = params["train_unmix"]["scenes"]
    assert listed and set(listed) < set(params["collection"]["scenes"])
    assert {name for name in stages if name.startswith("train_unmix@")} == {f"train_unmix@{s}" for s in listed}
    for scene in listed:
        layout = SceneLayout(scene)
        assert {layout.store("unmixing_network"), layout.metrics("train_unmix"), layout.plot("train_unmix.csv"),
                layout.model("unmix_network")} <= set(stages[f"train_unmix@{scene}"])


def test_a_companion_entry_overrides_the_fuse_section_and_names_a_scene() -> None:
    params = {"fuse": {"methods": ["mtf_glp"], "srf": "bands",
                       "companions": {"a": {"source_dir": "data/a", "source": "pan.tif", "methods": ["gsa"]}}},
              "collection": {"scenes": {"a": {"source_dir": "data/a", "source": "a.hdr"},
                                        "b": {"source_dir": "data/b", "source": "b.hdr"}}}}
    assert stage_values(params, "fuse", "a") == {
        "methods": ["gsa"], "srf": "bands", "source_dir": "data/a", "source": "pan.tif",
        "input": "data/stores/a/scene.zarr", "companion_store": "data/stores/a/companion.zarr",
        "out": "data/stores/a/fused.zarr"}
    with pytest.raises(ConfigError, match="scene 'b' has no companion image; scenes with one: \\['a'\\]"):
        stage_values(params, "fuse", "b")
    params["fuse"]["companions"]["c"] = {"source": "x.tif"}
    with pytest.raises(ConfigError, match="'c' is not a scene of the collection"):
        stage_values(params, "fuse", "a")


def test_adding_and_removing_a_scene_adds_and_removes_only_its_stages(tmp_path: Path) -> None:
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    before = _stages(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["collection"]["scenes"]["tile-7"] = {"source_dir": "data/acquisitions/tile-7", "source": "t.tif"}
    del params["collection"]["scenes"]["camera"]
    del params["fuse"]["companions"]["camera"]  # its companion image goes with it (the collection's only one)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    after = _stages(tmp_path)
    assert set(after) - set(before) == {f"{s}@tile-7" for s in PER_SCENE_STAGES}
    assert set(before) - set(after) == {f"{s}@camera" for s in (*PER_SCENE_STAGES, COMPANION_STAGE)}
    assert all(after[name] == outs for name, outs in before.items() if name in after)


def test_each_per_scene_stage_depends_on_its_data_and_its_configure_file_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the stages read from params.yaml and run of the code reaches DVC through the configure stage's files:
    one per stage of each scene, each a dependency of that stage; configure depends on every section they hold
    and on the code they list."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    from flows.configure import CONFIG_DIR, configuration, stage_code

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    with Repo(str(REPO), uninitialized=True) as repo:
        stages = {stage.name: stage for stage in repo.index.stages}
    per_scene = {tuple(name.split("@")): stage for name, stage in stages.items() if "@" in name}
    monkeypatch.chdir(REPO)  # the code paths are read from the working directory
    files = configuration(params)
    assert set(files) == {SceneLayout(scene).config(stage) for stage, scene in per_scene}
    for (stage_name, scene), stage in per_scene.items():
        deps = [dep.def_path for dep in stage.deps]
        assert not [dep for dep in stage.deps if isinstance(dep, ParamsDependency)], stage.name
        assert SceneLayout(scene).config(stage_name) in deps and all(d.startswith("data/") for d in deps), deps
        held = files[SceneLayout(scene).config(stage_name)]
        assert set(held["code"]) == set(stage_code(stage_name)) and f"flows/{stage_name}.py" in held["code"]
        if stage_name in STAGE_STORES:
            assert held["params"][stage_name] == stage_values(params, stage_name, scene)
    configure = stages["configure"]
    assert [out.def_path for out in configure.outs] == [str(CONFIG_DIR)]
    tracked = {key for dep in configure.deps if isinstance(dep, ParamsDependency) for key in dep.params}
    code_roots = [Path(dep.def_path) for dep in configure.deps if not isinstance(dep, ParamsDependency)]
    for held in files.values():
        for section, values in held["params"].items():  # a section, or the keys of it that it holds
            assert section in tracked or {f"{section}.{key}" for key in values} <= tracked, section
        for path in held["code"]:
            assert any(root in Path(path).parents for root in code_roots), path


def test_configure_writes_each_stage_its_view_and_a_stage_refuses_a_stale_one(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed section, a scene's override or a stage's code changes the files of the stages they reach only;
    until configure runs again the stages refuse their outdated file."""
    from flows._params import scene_config, scene_view
    from flows.configure import configure
    from spectraflow.config import DenoiseConfig, from_mapping

    (tmp_path / "src").symlink_to(REPO / "src")
    shutil.copytree(REPO / "flows", tmp_path / "flows")  # changed below: copies
    shutil.copytree(REPO / "tasks", tmp_path / "tasks")
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    with pytest.raises(ConfigError, match="denoise.json: missing; the configure stage writes it"):
        scene_view("denoise", "aviris")

    def written() -> dict[str, bytes]:
        assert configure.fn() == len(scene_stages(params))
        return {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in (tmp_path / "data/config").rglob("*.json")}

    def changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
        assert set(before) == set(after)
        return {path for path in before if before[path] != after[path]}

    first = written()
    assert scene_config(DenoiseConfig, "denoise", "aviris") == from_mapping(
        DenoiseConfig, stage_values(params, "denoise", "aviris"), "denoise")
    params["denoise"]["methods"] = params["denoise"]["methods"][1:]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with pytest.raises(ConfigError, match=r"denoise.json: stale, params.yaml has changed .*\['denoise'\]"):
        scene_view("denoise", "aviris")
    assert scene_view("unmix", "aviris")["unmix"] == stage_values(params, "unmix", "aviris")  # not reached
    second = written()
    overriding = {s for s, entry in params["collection"]["scenes"].items() if "methods" in entry.get("denoise", {})}
    assert overriding  # a scene with methods of its own (eels) keeps its file
    assert changed(first, second) == {SceneLayout(s).config("denoise") for s in params["collection"]["scenes"]
                                      if s not in overriding}
    params["collection"]["scenes"]["camera"]["format"] = "envi"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = written()
    assert changed(second, third) == {SceneLayout("camera").config("ingest")}
    with (tmp_path / "tasks/anomaly.py").open("a") as code:
        code.write("\n# a change\n")
    (tmp_path / "flows/__pycache__").mkdir()  # bytecode caches are no change
    (tmp_path / "flows/__pycache__/anomaly.cpython-311.pyc").write_bytes(b"x")
    fourth = written()
    assert changed(third, fourth) == {SceneLayout(s).config("anomaly") for s in params["collection"]["scenes"]}
    assert not list(tmp_path.glob("data/.config*"))  # written beside, renamed over


def test_stage_values_apply_the_scenes_overrides_and_paths() -> None:
    params = {"ingest": {"nonfinite": "refuse", "compressor": "none"},
              "unmix": {"n_endmembers": None, "endmembers": "vca"},
              "collection": {"scenes": {"a": {"source_dir": "data/a", "source": "a.hdr", "nonfinite": "mask",
                                              "unmix": {"n_endmembers": 3}},
                                        "b": {"source_dir": "data/b", "source": "b.mat"}}}}
    assert stage_values(params, "ingest", "a") == {"nonfinite": "mask", "compressor": "none", "source_dir": "data/a",
                                                   "source": "a.hdr", "name": "a", "out": "data/stores/a/scene.zarr"}
    assert stage_values(params, "unmix", "a") == {"n_endmembers": 3, "endmembers": "vca",
                                                  "input": "data/stores/a/scene.zarr",
                                                  "out": "data/stores/a/unmixing.zarr"}
    assert stage_values(params, "unmix", "b")["n_endmembers"] is None
    assert stage_values(params, "ingest", "b")["nonfinite"] == "refuse"
    with pytest.raises(ConfigError, match="no scene 'c'"):
        stage_values(params, "ingest", "c")
    for bad, match in (({"../x": {}}, "scene name"), ({"a": {"sorce": "x"}}, r"unknown key\(s\) \['sorce'\]"),
                       ({"a": {"unmix": 3}}, "collection.scenes.a.unmix"), ({}, "collection.scenes")):
        with pytest.raises(ConfigError, match=match):
            stage_values({"collection": {"scenes": bad}}, "ingest", "a")


def test_sensor_grids_of_the_default_collection() -> None:
    enmap, fwhm = sensor_grid("enmap")
    assert enmap.shape == fwhm.shape == (224,) and (np.diff(enmap) >= 0).all()
    assert ((enmap > 900) & (enmap < 1000)).sum() > 20  # the two spectrometers overlap
    camera, _ = sensor_grid("camera31")
    np.testing.assert_allclose(camera, np.arange(400, 701, 10))


def test_a_nodata_corner_survives_envi_and_ingest(tmp_path: Path) -> None:
    seed = int(np.random.default_rng().integers(1000))
    scene = synthetic_scene(seed, height=24, width=32, sensor="enmap", nodata_corner=0.2)
    yy, xx = np.mgrid[0:24, 0:32]
    corner = xx / 32 + yy / 24 < 0.4  # the wedge, computed independently
    assert (np.isnan(scene["cube"].values).all(axis=-1) == corner).all() and corner.any()
    header, _ = write_scene_envi(scene, tmp_path)
    assert "data ignore value = -32768" in header.read_text()
    store = open_store(ingest(header, tmp_path / "scene.zarr"))
    cube = store["cube"].values
    assert (cube[corner] == -32768).all() and (cube[~corner] > 0).all()
    assert store["cube"].attrs["nodata"] == -32768


def test_fill_invalid_and_scores_on_valid_pixels() -> None:
    rng = np.random.default_rng()
    values = rng.random((24, 26, 5)).astype(np.float32)
    valid = rng.random((24, 26)) > 0.3
    with_gaps = values.copy()
    with_gaps[~valid] = np.nan
    with_gaps[0, 0, 2] = np.inf if valid[0, 0] else np.nan  # one non-finite sample invalidates its pixel
    valid[0, 0] = False
    filled, mask = fill_invalid(xr.DataArray(with_gaps, dims=("y", "x", "band")))
    assert mask is not None and (mask.values == valid).all()
    np.testing.assert_allclose(filled.values[valid], values[valid])
    np.testing.assert_allclose(filled.values[~valid], np.broadcast_to(values[valid].mean(axis=0), ((~valid).sum(), 5)),
                               rtol=1e-5)
    same, none = fill_invalid(xr.DataArray(values, dims=("y", "x", "band")))
    assert none is None and same.values is values
    estimate = values + rng.normal(0, 0.05, values.shape)
    scores = denoising_scores(estimate, values, valid)
    mse = ((estimate[valid] - values[valid]) ** 2).mean(axis=0)  # per band, over valid pixels only
    assert scores["mpsnr"] == pytest.approx(float(np.mean(10 * np.log10(1 / mse))))
    garbage = estimate.copy()
    garbage[~valid] = 1e6  # what invalid pixels hold does not count
    assert denoising_scores(garbage, values, valid)["mpsnr"] == pytest.approx(scores["mpsnr"])


def test_parallel_bound() -> None:
    from spectraflow.collection import parallel_bound

    assert parallel_bound({}) == 1 and parallel_bound({"parallel": 3}) == 3
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(ConfigError, match=r"collection.parallel"):
            parallel_bound({"parallel": bad})
