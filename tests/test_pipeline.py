"""The default pipeline, as the README's first command runs it: `dvc repro` in a copy of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from spectraflow.io import open_store
from spectraflow.synth import synthetic_scene

from .conftest import REPO


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def workspace_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The working tree's tracked and untracked-not-ignored files, as a fresh git repository."""
    dest = tmp_path_factory.mktemp("repo")
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    env = {**os.environ, "PREFECT_HOME": str(dest / ".prefect"), "DVC_NO_ANALYTICS": "1",
           "DVC_SITE_CACHE_DIR": str(dest / ".dvc-site"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        _run(cmd, dest, env)
    return dest, env


@pytest.mark.slow
def test_dvc_repro_default_pipeline(workspace_copy: tuple[Path, dict[str, str]]) -> None:
    repo, env = workspace_copy
    _run(["dvc", "repro"], repo, env)
    scene = open_store(repo / "data/stores/scene.zarr")
    params = yaml.safe_load((repo / "params.yaml").read_text())["synth"]
    expected = synthetic_scene(params["seed"], height=params["height"], width=params["width"],
                               endmembers=params["endmembers"], sensor=params["sensor"])
    # the store holds the generated scene after its trip through ENVI int16 DN (scale 10000)
    np.testing.assert_allclose(scene["cube"].values / scene["cube"].attrs["data_scale"],
                               expected["cube"].values, atol=0.5e-4 + 1e-7)
    np.testing.assert_array_equal(scene["abundances"].values, expected["abundances"].values)
    assert scene.attrs["reader"] == "envi" and len(scene.attrs["source_sha256"]) == 64
    metrics = json.loads(_run(["dvc", "metrics", "show", "--json"], repo, env))
    shown = metrics[""]["data"]["data/metrics/ingest.json"]["data"]
    assert shown == json.loads((repo / "data/metrics/ingest.json").read_text())
    assert shown["files"] <= 100

    assert "Data and pipelines are up to date" in _run(["dvc", "repro"], repo, env)

    # a param only `ingest` reads reruns `ingest` alone
    text = (repo / "params.yaml").read_text().replace("compressor: none", "compressor: lz4")
    (repo / "params.yaml").write_text(text)
    out = _run(["dvc", "repro"], repo, env)
    assert "Running stage 'ingest'" in out and "Running stage 'synth'" not in out
