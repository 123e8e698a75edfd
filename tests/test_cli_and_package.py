"""The command line and the package's promises (fast import, no Prefect in the library, registry)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spectraflow import methods
from spectraflow.cli import app
from spectraflow.errors import UnknownMethodError

runner = CliRunner()


def test_synth_ingest_info_round_trip(workspace: Path) -> None:
    assert runner.invoke(app, ["synth", "data/raw", "--height", "20", "--width", "16"]).exit_code == 0
    result = runner.invoke(app, ["ingest", "data/raw/scene.hdr", "--out", "data/scene.zarr", "--name", "demo",
                                 "--ground-truth", "data/raw/scene_groundtruth.nc"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["info", "data/scene.zarr", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["dims"] == {"y": 20, "x": 16, "band": 224}
    assert info["provenance"]["name"] == "demo" and info["provenance"]["reader"] == "envi"
    assert sorted(info["variables"]) == ["abundances", "cube", "endmembers"]
    assert info["spectral_axis"]["name"] == "wavelength" and info["spectral_axis"]["units"] == "nm"
    assert 399 < info["spectral_axis"]["range"][0] < 401
    table = runner.invoke(app, ["info", "data/scene.zarr"])
    assert "chunks / shards" in table.output and "source_sha256" in table.output and " nm" in table.output


def test_explicit_format_overrides_detection(workspace: Path) -> None:
    np.save("data.npy", np.zeros((3, 4, 5), "f4"))
    result = runner.invoke(app, ["ingest", "data.npy", "--out", "data/a.zarr", "--format", "matlab"])
    assert result.exit_code == 2 and "error:" in result.output
    assert runner.invoke(app, ["ingest", "data.npy", "--out", "data/a.zarr", "--format", "npy"]).exit_code == 0


def test_methods_lists_every_family_even_empty() -> None:
    result = runner.invoke(app, ["methods"])
    assert result.exit_code == 0
    for family in methods.FAMILIES:
        registered = methods.names(family)
        line = next(line for line in result.output.splitlines() if line.startswith(f"{family}:"))
        assert line.endswith("(none yet)") if not registered else all(n in line for n in registered)


def test_registry_register_get_names() -> None:
    reg = methods.registry("preprocess")

    class Probe:
        pass

    methods.register("preprocess", "zz-probe")(Probe)
    try:
        assert methods.get("preprocess", "zz-probe") is Probe
        assert "zz-probe" in methods.names("preprocess")
        with pytest.raises(ValueError, match="already registered"):
            methods.register("preprocess", "zz-probe")(object)
    finally:
        reg._items.pop("zz-probe")
    with pytest.raises(UnknownMethodError, match="known"):
        methods.get("denoise", "no-such-method")
    with pytest.raises(UnknownMethodError, match="family"):
        methods.names("astrology")


def test_library_never_imports_prefect_or_heavy_deps_at_import() -> None:
    code = ("import sys, spectraflow, spectraflow.io, spectraflow.datasets, spectraflow.synth, spectraflow.methods, "
            "spectraflow.cli; bad = [m for m in ('prefect', 'torch') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    probe = "import sys, spectraflow; print(sorted(m for m in ('xarray', 'dask', 'zarr', 'torch') if m in sys.modules))"
    bare = subprocess.run([sys.executable, "-c", probe],
                          capture_output=True, text=True, check=True).stdout
    assert bare.strip() == "[]"


def test_the_tests_own_prefect_keeps_off_the_network_and_out_of_home() -> None:
    """What the tests' in-process Prefect runs with, however the README's test command was started (.ci/run exports
    nothing for it): telemetry off, state outside ~/.prefect and the project's .prefect."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    assert settings.server.analytics_enabled is False
    home = Path(settings.home).resolve()
    assert home not in {(Path.home() / ".prefect").resolve(), (Path(__file__).resolve().parents[1] / ".prefect")}


def test_a_test_session_that_ran_prefect_ends_without_a_logging_error(tmp_path: Path) -> None:
    """A session whose test ran a Prefect task (which starts the temporary server) under the suite's conftest ends
    cleanly: before, every run of the README's test command ended in a '--- Logging error ---' traceback, the server
    and Prefect's workers logging to the stream pytest had closed."""
    test = tmp_path / "test_one_task.py"
    test.write_text("from prefect import task\n\n\n@task\ndef one() -> int:\n    return 1\n\n\n"
                    "def test_a_task_runs() -> None:\n    assert one() == 1\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(test)], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "1 passed" in output, output
    assert "Logging error" not in output and "Traceback" not in output, output


def test_the_prefect_server_the_readme_starts_listens_on_loopback_only() -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = [line for line in text.splitlines() if line.lstrip().startswith(("prefect server start",
                                                                                "spectraflow server"))]
    assert commands and all("--host 127.0.0.1" in line for line in commands), commands
