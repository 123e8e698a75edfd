"""The HTML report: what it collects (metrics against the baseline revision, benchmark tables, provenance,
figures), and the page itself opened in a real headless Chromium with the network shut."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml
import zarr
from typer.testing import CliRunner

from spectraflow.cli import app
from spectraflow.report.document import collect_report, flatten, render_html, render_markdown, write_report
from spectraflow.testing.browser import chromium_path, render_offline

BENCHMARK = """<!-- written by benchmarks/_results.py: do not edit by hand -->
command: `python benchmarks/unmix.py --seeds 5`
measured: 2026-11-22 10:00 UTC on 2 CPUs, x86_64, Python 3.11.7

## Samson
| scene | method | SAD° |
|---|---|---|
| samson | pysptools 0.15 N-FINDR + FCLS | 5.42 |
| samson | **spectraflow vca + fcls** | **3.10** |

some text between
| a | b |
|---|---|
| 1 |
"""


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def _figure(path: Path, seed: int, dpi: int = 80) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    ax.imshow(np.random.default_rng(seed).random((20, 30)), cmap="viridis")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


@pytest.fixture
def run_workspace(tmp_path: Path) -> tuple[Path, dict[str, object], dict[str, object]]:
    """A committed run (metrics v1) then a new uncommitted one (metrics v2), with a store, figures, a lock."""
    ws = tmp_path / "ws"
    ws.mkdir()
    rng = np.random.default_rng()
    old = {"sad_mean": float(rng.random()), "nested": {"rel_l2": float(rng.random()), "device": "cpu"}, "k": 5}
    new = {"sad_mean": float(rng.random()), "nested": {"rel_l2": old["nested"]["rel_l2"], "device": "cuda"},  # type: ignore[index]
           "k": 5, "added": 1.5}
    (ws / "params.yaml").write_text("task:\n  out: data/stores/scene.zarr\n  seed: 3\n")
    stages = {"stages": {"task": {"cmd": "true", "outs": ["${task.out}"],
                                  "metrics": [{"data/metrics/task.json": {"cache": False}}],
                                  "plots": [{"data/plots/curve.csv": {"x": "epoch"}}, "data/plots/first.png",
                                            "data/plots/second.png"]}}}
    (ws / "dvc.yaml").write_text(yaml.safe_dump(stages))
    (ws / "data/metrics").mkdir(parents=True)
    (ws / "data/metrics/task.json").write_text(json.dumps(old))
    _git(ws, "init", "-q")
    _git(ws, "add", ".")
    _git(ws, "commit", "-qm", "first run")
    (ws / "data/metrics/task.json").write_text(json.dumps(new))
    _figure(ws / "data/plots/first.png", 1)
    _figure(ws / "data/plots/second.png", 2)
    (ws / "data/plots/curve.csv").write_text("epoch,loss\n0,1\n")
    store = zarr.open_group(ws / "data/stores/scene.zarr", mode="w", zarr_format=3)
    sha = "ab" * 32
    store.attrs.update({"source_files": json.dumps([{"name": "scene.img", "sha256": sha}]), "reader": "envi",
                        "reader_version": "1.0", "spectraflow_version": "0.1.0", "created": "2026-11-22T00:00:00"})
    lock = {"schema": "2.0", "stages": {"task": {"cmd": "true", "outs": [
        {"path": "data/stores/scene.zarr", "md5": "0123456789abcdef0123456789abcdef.dir", "size": 10, "nfiles": 2}]}}}
    (ws / "dvc.lock").write_text(yaml.safe_dump(lock))
    (ws / "benchmarks/results").mkdir(parents=True)
    (ws / "benchmarks/results/unmix.md").write_text(BENCHMARK)
    _figure(ws / "benchmarks/results/fusion_paris.png", 3)
    return ws, old, new


def test_metrics_are_compared_with_the_baseline_revision(run_workspace: tuple[Path, dict, dict]) -> None:
    ws, old, new = run_workspace
    report = collect_report(ws)
    assert report.revision.endswith("+ uncommitted changes")
    (table,) = report.metrics
    assert table.title == "task: data/metrics/task.json" and table.note == ""
    rows = {row[0]: row[1:] for row in table.rows}
    assert set(rows) == set(flatten(new)) == {"sad_mean", "nested.rel_l2", "nested.device", "k", "added"}
    value, previous, change = rows["sad_mean"]
    assert float(value) == pytest.approx(new["sad_mean"], rel=1e-3)
    assert float(previous) == pytest.approx(old["sad_mean"], rel=1e-3)
    assert float(change.split()[0]) == pytest.approx(new["sad_mean"] - old["sad_mean"], rel=1e-3, abs=1e-6)  # type: ignore[operator]
    assert rows["nested.rel_l2"][2] == "=" and rows["k"] == ("5", "5", "=")
    assert rows["nested.device"] == ("cuda", "cpu", "changed") and rows["added"] == ("1.5", "—", "new")
    # committed: compared with itself it is unchanged, with the first run it is not
    _git(ws, "commit", "-qam", "second run")
    report = collect_report(ws)
    assert "uncommitted" not in report.revision and all(row[3] == "=" for row in report.metrics[0].rows)
    (table,) = collect_report(ws, baseline="HEAD~1").metrics
    assert {row[0]: row[3] for row in table.rows}["sad_mean"] != "="
    # a baseline without the file: said so, nothing compared
    (table,) = collect_report(ws, baseline="no-such-revision").metrics
    assert "nothing to compare with" in table.note and all(row[2] == "—" for row in table.rows)


def test_benchmarks_provenance_and_figures_are_collected(run_workspace: tuple[Path, dict, dict]) -> None:
    ws, _, _ = run_workspace
    report = collect_report(ws)
    first, second = report.benchmarks
    assert first.title == "unmix: Samson" and first.columns == ("scene", "method", "SAD°")
    assert first.rows == (("samson", "pysptools 0.15 N-FINDR + FCLS", "5.42"),
                          ("samson", "spectraflow vca + fcls", "3.10"))
    assert "python benchmarks/unmix.py --seeds 5" in first.note and "2 CPUs" in first.note
    assert second.title == "unmix: Samson (2)" and second.rows == (("1", ""),)  # a short row is padded
    sources, outputs = report.provenance
    assert sources.rows == (("data/stores/scene.zarr", "scene.img", "ab" * 32, "envi 1.0", "0.1.0",
                             "2026-11-22T00:00:00"),)
    assert outputs.rows == (("task", "data/stores/scene.zarr", "0123456789abcdef0123456789abcdef.dir", "10", "2"),)
    assert [f.caption for f in report.figures] == ["task: data/plots/first.png", "task: data/plots/second.png"]
    (figure,) = report.benchmark_figures
    assert figure.caption == "fusion_paris (benchmarks/results/fusion_paris.png)"
    page = render_html(report)
    benchmarks = page[page.index('id="benchmarks"'):page.index('id="provenance"')]
    assert base64.b64encode(figure.path.read_bytes()).decode() in benchmarks  # inlined in its section
    markdown = render_markdown(report, "data/report/index.html")
    assert "| sad_mean |" in markdown and "| samson | pysptools 0.15 N-FINDR + FCLS | 5.42 |" in markdown


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.references += [value or "" for name, value in attrs if name in ("src", "href", "action", "srcset")]


def test_page_refers_to_nothing_outside_itself(run_workspace: tuple[Path, dict, dict]) -> None:
    ws, _, _ = run_workspace
    page = render_html(collect_report(ws))
    parser = _References()
    parser.feed(page)
    assert "script" not in parser.tags and "link" not in parser.tags
    assert parser.references and all(r.startswith(("data:image/png;base64,", "#")) for r in parser.references)
    assert parser.tags.count("img") == 3  # two run figures and one benchmark figure
    assert "default-src 'none'" in page and "seed: 3" in page


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium: the README's test command installs Debian's chromium package")
        pytest.skip("Debian's chromium package is not installed")
    return path


def test_report_renders_offline_in_headless_chromium(run_workspace: tuple[Path, dict, dict], chromium: str) -> None:
    ws, _, new = run_workspace
    out = ws / "data/report/index.html"
    path, _ = write_report(out, ws)
    assert sorted(p.name for p in out.parent.iterdir()) == ["index.html"]  # written beside, renamed, nothing left
    rendered = render_offline(path, chromium)
    assert rendered.requests == [path.resolve().as_uri()]  # the page, and not one request more
    assert rendered.title == "spectraflow pipeline report"
    assert len(rendered.images) == 3 and all(w == 320 for w in rendered.natural_widths)  # 2 run, 1 benchmark
    for image in rendered.images:  # each figure drawn: varied pixels, not a blank box
        assert image.shape[0] > 100 and image.std() > 20
        assert len(np.unique(image.reshape(-1, 3), axis=0)) > 100
    assert "sad_mean" in rendered.text and f"{new['sad_mean']:.4g}" in rendered.text


def test_the_browser_check_sees_a_page_that_reaches_out(tmp_path: Path, chromium: str) -> None:
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="http://192.0.2.1/x.png"><link rel="stylesheet" '
                    'href="https://cdn.invalid/s.css"></body></html>')
    rendered = render_offline(page, chromium)
    assert rendered.requests[0] == page.as_uri() and len(rendered.requests) == 3
    assert rendered.natural_widths == [0]


def test_cli_report(run_workspace: tuple[Path, dict, dict], tmp_path: Path) -> None:
    ws, _, _ = run_workspace
    out = tmp_path / "page.html"
    result = CliRunner().invoke(app, ["report", "--workspace", str(ws), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 metrics tables, 2 figures, 2 benchmark tables" in result.output and out.is_file()
    missing = CliRunner().invoke(app, ["report", "--workspace", str(tmp_path / "nowhere"), "--out", str(out)])
    assert missing.exit_code == 2 and "nowhere" in missing.output and "params.yaml" in missing.output.replace("\n", "")


def _collection_workspace(tmp_path: Path, scenes: dict[str, int]) -> Path:
    """A workspace of a collection: per scene (name: seed) an ingested store, metrics and two figures; the last
    scene has no unmix metrics (its stage failed)."""
    from spectraflow.io import write_store
    from spectraflow.synth import synthetic_scene

    ws = tmp_path / "collection"
    ws.mkdir(parents=True)
    entries = {name: {"source_dir": f"data/raw/{name}", "source": "scene.hdr"} for name in scenes}
    (ws / "params.yaml").write_text(yaml.safe_dump({"collection": {"scenes": entries}}, sort_keys=False))
    stage = {"foreach": "${collection.scenes}", "do": {"cmd": "true"}}
    stages = {name: {**stage, "do": {"cmd": "true", "metrics": [{f"data/metrics/${{key}}/{name}.json": {
        "cache": False}}], "plots": [f"data/plots/${{key}}/{name}.png"]}}
        for name in ("preprocess", "denoise", "unmix")}
    (ws / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    for i, (name, seed) in enumerate(scenes.items()):
        write_store(synthetic_scene(seed, height=40 + 8 * i, width=48, sensor="aviris"),
                    ws / f"data/stores/{name}/scene.zarr")
        metrics = {"preprocess": {"bands_out": 180 + i, "noise_std_median": 0.01 * (i + 1)},
                   "denoise": {"noisy": {"mpsnr": 10.0}, "subspace_tv": {"mpsnr": 30.0 + i}},
                   "unmix": {"sad_mean": 0.02 * (i + 1), "n_endmembers": 5},
                   "anomaly": {"anomalous_pixels": 9, "attribute": {"auc": 0.99 + i / 1000, "scored_pixels": 40}}
                   if i == 0 else {"anomalous_pixels": None, "rx": {"scored_pixels": 40}}}
        if i == 0:  # a scene with a companion image and a reference; the second is scored at reduced resolution
            metrics["fuse"] = {"ratio": 4, "mtf_glp": {"reduced": {"psnr": 40.0}, "reference": {"psnr": 50.0}}}
        elif i == 1:
            metrics["fuse"] = {"ratio": 3, "gsa": {"reduced": {"psnr": 35.5}}}
        if i == len(scenes) - 1:
            del metrics["unmix"]
        for stage_name, values in metrics.items():
            (ws / f"data/metrics/{name}").mkdir(parents=True, exist_ok=True)
            (ws / f"data/metrics/{name}/{stage_name}.json").write_text(json.dumps(values))
        for stage_name in ("preprocess", "denoise", "unmix"):
            _figure(ws / f"data/plots/{name}/{stage_name}.png", seed + len(stage_name), dpi=250)  # 1000 px wide
    _git(ws, "init", "-q")
    return ws


def test_a_collection_gets_an_overview_row_and_a_section_per_scene(tmp_path: Path) -> None:
    import io

    from PIL import Image

    ws = _collection_workspace(tmp_path, {"first": 3, "second": 4, "broken": 5})
    report = collect_report(ws)
    assert report.overview is not None and [s.name for s in report.scenes] == ["first", "second", "broken"]
    rows = {row[1]: row for row in report.overview.rows}
    assert rows["first"][2:] == ("aviris", "40 × 48 × 224", 180, 0.01, "subspace_tv: 30.00 dB",
                                 f"SAD {np.degrees(0.02):.2f}° (5 endmembers)", "attribute: AUC 0.9900",
                                 "mtf_glp: 50.00 dB (reference, ×4)", "complete")
    assert rows["second"][3] == "48 × 48 × 224" and rows["second"][6] == "subspace_tv: 31.00 dB"
    assert rows["second"][8] == "rx: scored (no map)" and rows["second"][9] == "gsa: 35.50 dB (reduced, ×3)"
    assert rows["broken"][7] == rows["broken"][9] == "—" and rows["broken"][10] == "missing: unmix"
    thumbnail = Image.open(io.BytesIO(rows["first"][0].png))
    assert thumbnail.format == "PNG" and max(thumbnail.size) <= 96
    for section in report.scenes:  # each scene's tables and figures in its own section, none run-wide
        assert all(t.title.split(":")[0].endswith(f"@{section.name}") for t in section.metrics)
        assert len(section.figures) == 3
    assert report.metrics == [] and report.figures == []
    page = ws / "data/report/index.html"
    write_report(page, ws)
    text = page.read_text()
    parser = _References()
    parser.feed(text)
    links = [r for r in parser.references if not r.startswith(("data:", "#"))]
    assert sorted(links) == sorted(f"../plots/{s}/{n}.png" for s in ("first", "second", "broken")
                                   for n in ("preprocess", "denoise", "unmix"))
    assert all((page.parent / link).is_file() for link in links)  # thumbnails link to the full figures
    thumbnails = text.count("data:image/jpeg;base64,") + text.count("data:image/png;base64,")
    assert thumbnails == 3 + 9  # the overview's and the scene figures' (JPEG or PNG, whichever is smaller)


def test_benchmark_floors_not_met_are_marked_and_inline_code_is_rendered(tmp_path: Path) -> None:
    from spectraflow.report.document import FLOOR_MISSED, Report, _markdown_tables

    text = """command: `python benchmarks/x.py`
| measure | value | floor |
|---|---|---|
| ratio to ``os.sync()`` | 0.30x | >= 0.5x |
| files | 54 | <= 100 |
| peak RSS | 1100 MB | <= 1024 MB |
| reference | 4.5 GB/s | reference |

| scenes | overhead |
|---|---|
| 1 | 21 % (floor <= 10 %) |
| 10 | 8 % (floor <= 10 %) |

| plain | table |
|---|---|
| 1 | 2 |
"""
    ratios, overhead, plain = _markdown_tables(text, "x")
    assert ratios.columns[-1] == overhead.columns[-1] == "floor met" and plain.columns == ("plain", "table")
    assert [r[-1] for r in ratios.rows] == [FLOOR_MISSED, "✓ met", FLOOR_MISSED, ""]
    assert [r[-1] for r in overhead.rows] == [FLOOR_MISSED, "✓ met"]
    page = render_html(Report("r", "now", "rev", "HEAD", "", benchmarks=[ratios]))
    assert page.count('<td class="missed">') == 2 and "<code>os.sync()</code>" in page and "``" not in page
