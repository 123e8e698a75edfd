"""The pipeline on real parts: `dvc repro` in a copy of the repository, push/pull through a local and an
S3 (moto, loopback) remote into fresh clones, and the pipeline flow against a real Prefect server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from spectraflow.io import ingest, open_store
from spectraflow.synth import synthetic_scene
from spectraflow.testing.browser import chromium_path, render_offline
from spectraflow.testing.faults import kill_while_writing, partials, write_window
from spectraflow.testing.workspace import copy_workspace, isolated_env, tree_digest
from spectraflow.testing.workspace import run as _run

from .conftest import REPO

pytestmark = pytest.mark.slow
ARTIFACTS = ("data/raw", "data/stores/scene.zarr", "data/plots/scene.png")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {**isolated_env(tmp_path_factory.mktemp("home")), "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """A copy of the working tree as a fresh git repository, reproduced."""
    dest = copy_workspace(REPO, tmp_path_factory.mktemp("repo"), env)
    _run(["dvc", "repro"], dest, env)
    _run(["git", "commit", "-qam", "reproduced"], dest, env)
    return dest


def test_dvc_repro_default_pipeline(repo: Path, env: dict[str, str]) -> None:
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


def test_report_and_plots_of_the_default_run(repo: Path, env: dict[str, str]) -> None:
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    pngs = [p for s in stages.values() for e in s.get("plots", []) for p in (e if isinstance(e, dict) else [e])
            if p.endswith(".png")]
    csvs = [p for s in stages.values() for e in s.get("plots", []) if isinstance(e, dict) for p in e
            if p.endswith(".csv")]
    assert len(pngs) >= 7 and len(csvs) >= 5
    shown = json.loads(_run(["dvc", "plots", "show", "--json"], repo, env))["data"]
    assert set(pngs + csvs) <= set(shown), sorted(shown)  # dvc plots reads every table and figure
    bands = (repo / "data/plots/denoise_bands.csv").read_text().splitlines()
    assert bands[0].startswith("band,wavelength,psnr_noisy,psnr_robust_subspace_tv")
    assert len(bands) == 1 + open_store(repo / "data/stores/denoised.zarr").sizes["band"]
    executable = chromium_path()
    if executable is None:
        pytest.fail("no chromium: the README's test command installs Debian's chromium package")
    page = repo / yaml.safe_load((repo / "params.yaml").read_text())["report"]["out"]
    rendered = render_offline(page, executable)
    assert rendered.requests == [page.resolve().as_uri()]
    assert len(rendered.images) == len(pngs) and all(w > 300 for w in rendered.natural_widths)
    assert all(image.std() > 10 for image in rendered.images)
    denoise = json.loads((repo / "data/metrics/denoise.json").read_text())
    assert "robust_subspace_tv.mpsnr" in rendered.text
    assert f"{denoise['robust_subspace_tv']['mpsnr']:.4g}" in rendered.text


def _clone_and_pull(repo: Path, dest: Path, env: dict[str, str], remote: str, local_config: list[list[str]]) -> None:
    _run(["git", "clone", "-q", str(repo), str(dest)], dest.parent, env)
    for args in local_config:
        _run(["dvc", "remote", "modify", "--local", remote, *args], dest, env)
    _run(["dvc", "pull", "-r", remote], dest, env)
    for artifact in ARTIFACTS:
        assert tree_digest(dest / artifact) == tree_digest(repo / artifact), artifact
    assert "up to date" in _run(["dvc", "status"], dest, env)


def test_push_pull_local_remote(repo: Path, env: dict[str, str], tmp_path: Path) -> None:
    _run(["dvc", "push"], repo, env)  # the default remote: .dvcstore inside the workspace
    assert (repo / ".dvcstore").is_dir()
    _clone_and_pull(repo, tmp_path / "clone", env, "local", [["url", str(repo / ".dvcstore")]])


@pytest.fixture
def moto_server(env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(f"http://127.0.0.1:{port}/moto-api/")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_push_pull_s3_remote(repo: Path, env: dict[str, str], tmp_path: Path, moto_server: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="spectraflow")
    settings = [["endpointurl", moto_server], ["region", "us-east-1"]]
    _run(["dvc", "remote", "add", "--local", "s3", "s3://spectraflow/cache"], repo, env)
    for args in settings:
        _run(["dvc", "remote", "modify", "--local", "s3", *args], repo, env)
    _run(["dvc", "push", "-r", "s3"], repo, env)
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(repo), str(clone)], tmp_path, env)
    _run(["dvc", "remote", "add", "--local", "s3", "s3://spectraflow/cache"], clone, env)
    for args in settings:
        _run(["dvc", "remote", "modify", "--local", "s3", *args], clone, env)
    _run(["dvc", "pull", "-r", "s3"], clone, env)
    for artifact in ARTIFACTS:
        assert tree_digest(clone / artifact) == tree_digest(repo / artifact), artifact


@pytest.fixture(scope="module")
def prefect_server(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    home = tmp_path_factory.mktemp("server")  # its own database: runs of temporary servers stay out of it
    log = open(home / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env={**env, "PREFECT_HOME": str(home)}, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", 120)
        yield f"http://127.0.0.1:{port}/api"
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _api(url: str, path: str, body: dict[str, object]) -> object:
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_pipeline_flow_against_a_real_prefect_server(repo: Path, env: dict[str, str], prefect_server: str) -> None:
    # change a param only `ingest` reads: the flow must rerun that stage alone
    text = (repo / "params.yaml").read_text().replace("compressor: none", "compressor: lz4")
    (repo / "params.yaml").write_text(text)
    server_env = {**env, "PREFECT_API_URL": prefect_server}
    _run([sys.executable, "-m", "flows.pipeline"], repo, server_env)
    runs = _api(prefect_server, "/flow_runs/filter", {})
    assert isinstance(runs, list)
    by_name = {}
    flows = {f["id"]: f["name"] for f in _api(prefect_server, "/flows/filter", {})}  # type: ignore[union-attr]
    for run in runs:
        by_name.setdefault(flows[run["flow_id"]], []).append(run["state_type"])
    assert by_name["pipeline"] == ["COMPLETED"], runs
    assert by_name.get("ingest") == ["COMPLETED"] and "synth" not in by_name  # only the changed stage ran
    tasks = {t["name"]: t["state_type"] for t in _api(prefect_server, "/task_runs/filter", {})}  # type: ignore[union-attr]
    assert tasks["stage synth"] == tasks["stage ingest"] == "COMPLETED"
    artifacts = _api(prefect_server, "/artifacts/latest/filter", {"artifacts": {"key": {"any_": ["pipeline-metrics"]}}})
    table = artifacts[0]["data"]  # type: ignore[index]
    rows = json.loads(table) if isinstance(table, str) else table
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], repo, env))[""]["data"]

    def dotted(prefix: str, value: object) -> dict[str, object]:  # nested keys as `dvc metrics show` prints them
        if not isinstance(value, dict):
            return {prefix: value}
        return {k: v for key, inner in value.items() for k, v in dotted(f"{prefix}.{key}" if prefix else key,
                                                                          inner).items()}

    expected = {(path, key): value for path, entry in shown.items() for key, value in dotted("", entry["data"]).items()}
    assert {(r["path"], r["metric"]): r["value"] for r in rows} == expected
    assert ("data/metrics/denoise.json", "qrnn3d.mpsnr") in expected  # nested metrics are really compared
    keys = ["metrics-denoise", "metrics-unmix", "metrics-train-operator", "pipeline-report", "pipeline-report-page"]
    published = _api(prefect_server, "/artifacts/latest/filter", {"artifacts": {"key": {"any_": keys}}})
    by_key = {a["key"]: a for a in published}  # type: ignore[union-attr]
    assert set(by_key) == set(keys)
    table = by_key["metrics-denoise"]["data"]
    rows = json.loads(table) if isinstance(table, str) else table
    metric = {r["metric"]: r["this run"] for r in rows}
    assert float(metric["robust_subspace_tv.mpsnr"]) == pytest.approx(
        expected[("data/metrics/denoise.json", "robust_subspace_tv.mpsnr")], rel=1e-3)
    assert "## Metrics" in by_key["pipeline-report"]["data"]
    link = by_key["pipeline-report-page"]["data"]
    assert "(file://" in link and link.endswith("data/report/index.html)")


def test_prefect_yaml_deploys_with_schedules(repo: Path, env: dict[str, str], prefect_server: str) -> None:
    server_env = {**env, "PREFECT_API_URL": prefect_server, "SPECTRAFLOW_REPO": str(repo)}
    _run(["prefect", "work-pool", "create", "spectraflow", "--type", "process"], repo, server_env)
    _run(["prefect", "--no-prompt", "deploy", "--all"], repo, server_env)
    deployments = {d["name"]: d for d in _api(prefect_server, "/deployments/filter", {})}  # type: ignore[union-attr]
    assert set(deployments) == {"nightly", "landing-zone"}
    for deployment in deployments.values():
        assert deployment["work_pool_name"] == "spectraflow"
        assert deployment["schedules"] and "cron" in deployment["schedules"][0]["schedule"]
        assert deployment["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == str(repo)


def test_landing_zone_ingests_each_file_once(repo: Path, env: dict[str, str], prefect_server: str) -> None:
    landing = repo / "data/landing"
    landing.mkdir(parents=True, exist_ok=True)
    np.save(landing / "acq1.npy", np.random.default_rng(3).random((12, 10, 6)).astype("f4"))
    shutil.copy(landing / "acq1.npy", landing / "acq1-again.npy")  # the same content dropped twice
    (landing / "broken.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))  # truncated: rejected, blocks nothing
    np.save(landing / "zz-after.npy", np.ones((5, 4, 3), "f4"))
    earlier = ingest(landing / "zz-after.npy", repo / "data/stores/landing/earlier-0000.zarr")  # never dvc-added
    past = time.time() - 60  # copied a minute ago: settled
    for path in landing.iterdir():
        os.utime(path, (past, past))
    server_env = {**env, "PREFECT_API_URL": prefect_server}
    code = "from flows.landing import landing_zone; print('NEW', landing_zone(trigger_pipeline=False))"
    first = _run([sys.executable, "-c", code], repo, server_env)
    stores = sorted((repo / "data/stores/landing").glob("*.zarr"))
    assert len(stores) == 3 and all((s.parent / f"{s.name}.dvc").is_file() for s in stores), stores
    assert earlier in stores
    assert sorted(p.name for p in (landing / "rejected").iterdir()) == ["broken.mat", "broken.mat.error.txt"]
    second = _run([sys.executable, "-c", code], repo, server_env)
    assert "NEW []" in second and "NEW ['" in first
    acq1 = next(s for s in stores if s.name.startswith("acq1"))
    np.testing.assert_array_equal(open_store(acq1)["cube"].values, np.load(landing / "acq1.npy"))
    table = _api(prefect_server, "/artifacts/latest/filter", {"artifacts": {"key": {"any_": ["landing-zone"]}}})
    data = table[0]["data"]  # type: ignore[index]
    rows = json.loads(data) if isinstance(data, str) else data
    assert {r["file"]: r["status"] for r in rows} == {"acq1-again.npy": "known", "acq1.npy": "known",
                                                     "zz-after.npy": "known"}  # the second run's table


def test_failed_stage_fails_the_flow_and_a_rerun_resumes(repo: Path, env: dict[str, str], prefect_server: str) -> None:
    server_env = {**env, "PREFECT_API_URL": prefect_server}
    params = repo / "params.yaml"
    good = params.read_text()
    params.write_text(good.replace("source: scene.hdr", "source: missing.hdr"))
    proc = subprocess.run([sys.executable, "-m", "flows.pipeline"], cwd=repo, env=server_env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode != 0
    assert "missing.hdr" in proc.stdout + proc.stderr and "ingest" in proc.stdout + proc.stderr
    params.write_text(good)
    out = _run([sys.executable, "-m", "flows.pipeline"], repo, server_env)
    assert "stage synth: unchanged, skipped" in out and "stage ingest: reproduced" in out


def test_kill_9_during_dvc_repro_then_repro_gives_the_uninterrupted_artifacts(repo: Path,
                                                                               env: dict[str, str]) -> None:
    """``dvc repro`` killed (with its stage) while the stage writes its store; the next ``dvc repro`` completes,
    and the store is bit-identical to an uninterrupted run's (``SOURCE_DATE_EPOCH`` pins its timestamp)."""
    pinned = {**env, "SOURCE_DATE_EPOCH": "1700000000"}
    dest = repo / yaml.safe_load((repo / "params.yaml").read_text())["preprocess"]["out"]
    command = ["dvc", "repro", "-f", "-s", "preprocess"]
    window = 0.9 * write_window(command, dest, repo, pinned)
    expected = tree_digest(dest)
    for seed in (0, 1):
        kill_while_writing(command, dest, np.random.default_rng(seed), repo, pinned, window)
        assert not dest.exists() or tree_digest(dest) == expected  # DVC cleared it before the run, or whole
        _run(["dvc", "repro"], repo, pinned)  # reruns what the kill left unfinished (or nothing, if all is whole)
        assert tree_digest(dest) == expected and not partials(dest.parent, dest.name)
        assert "up to date" in _run(["dvc", "status"], repo, pinned)


def test_parameter_sweep_as_dvc_experiments(repo: Path, env: dict[str, str]) -> None:
    """Last in the module: ``dvc exp run -S`` leaves the experiment's results in the workspace."""
    before = json.loads((repo / "data/metrics/train_operator.json").read_text())
    _run(["dvc", "exp", "run", "-n", "fewer-modes", "-S", "train_operator.model.fno.modes=4"], repo, env)
    shown = json.loads(_run(["dvc", "exp", "show", "--json"], repo, env))
    experiments = {e["name"]: e for entry in shown for run in entry.get("experiments") or []
                   for e in run.get("revs", [])}
    data = experiments["fewer-modes"]["data"]
    assert data["params"]["params.yaml"]["data"]["train_operator"]["model"]["fno"]["modes"] == 4
    metrics = data["metrics"]["data/metrics/train_operator.json"]["data"]
    assert metrics == json.loads((repo / "data/metrics/train_operator.json").read_text())
    assert metrics["parameters"] < before["parameters"]  # fewer Fourier modes: fewer weights
