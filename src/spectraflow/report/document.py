"""The run's report: parameters, provenance, metrics against the previous run and the benchmarks, figures.

:func:`collect_report` gathers everything from a workspace (a DVC repository laid out as this project's):

- the parameters (``params.yaml`` as it is);
- provenance: the git revision, each DVC output of ``dvc.lock`` with its hash, and for every zarr store among
  the outputs its source files with their sha256, the reader and the versions that wrote it;
- one metrics table per metrics file ``dvc.yaml`` declares, each value next to the same metric at a baseline
  revision (default ``HEAD``: the last committed run, what ``dvc metrics diff`` compares against);
- the tables the benchmarks printed (``benchmarks/results/*.md``: ours beside the peers, measured in one run) and
  the figures they drew (``benchmarks/results/*.png``, e.g. the Paris fusion);
- the PNG figures ``dvc.yaml`` declares under ``plots:``, in stage order;
- for a collection (``collection.scenes``), an overview with one row per scene (a thumbnail, sensor, size,
  bands kept, noise, each task's headline score, status) and a section per scene with its stages' metrics
  and figures (``denoise@aviris``).

:func:`render_html` makes one self-contained page of it (images inlined as data URIs, styles inline, no
script, and a content security policy that forbids the page any request). The figures of the run-wide stages
are inlined whole; a scene's figures as JPEG thumbnails linking to the full PNG, so the page grows by about
0.1 MB per scene (about 5 MB for 50 scenes), not by its full figures (about 0.8 MB per scene).
:func:`render_markdown` gives the same tables for a Prefect artifact, and :func:`write_report` writes the page
atomically.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .._atomic import atomic_output
from ..config import load_params

__all__ = ["Table", "Figure", "Thumbnail", "SceneSection", "Report", "collect_report", "render_html",
           "render_markdown", "write_report", "flatten", "format_value", "metric_table"]

#: What the page may load: nothing but its own inline styles and data-URI images.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""

    def records(self) -> list[dict[str, Any]]:
        """Rows as mappings column → value (a Prefect table artifact)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Figure:
    caption: str
    path: Path


@dataclass(frozen=True)
class Thumbnail:
    """A small inline image in a table cell (the overview's picture of a scene)."""

    png: bytes
    alt: str

    def __str__(self) -> str:
        return self.alt


@dataclass(frozen=True)
class SceneSection:
    """The metrics tables and figures of one scene's stages."""

    name: str
    metrics: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    title: str
    created: str
    revision: str
    baseline: str
    parameters: str
    provenance: list[Table] = field(default_factory=list)
    metrics: list[Table] = field(default_factory=list)
    benchmarks: list[Table] = field(default_factory=list)
    benchmark_figures: list[Figure] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    overview: Table | None = None
    scenes: list[SceneSection] = field(default_factory=list)

    def all_metrics(self) -> list[Table]:
        """The run-wide metrics tables, then each scene's."""
        return [*self.metrics, *(t for s in self.scenes for t in s.metrics)]

    def all_figures(self) -> list[Figure]:
        return [*self.figures, *(f for s in self.scenes for f in s.figures)]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings → dotted keys (as ``dvc metrics show`` prints them); other values stay as they are."""
    if not isinstance(value, Mapping):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, inner in value.items():
        out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _git(workspace: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=workspace, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _declared(workspace: Path) -> list[tuple[str, str, str]]:
    """``(stage, kind, path)`` of every metrics file and PNG plot the workspace's ``dvc.yaml`` declares, stages in
    file order, ``foreach`` stages expanded by DVC itself (``denoise@aviris``)."""
    from dvc.repo import Repo

    with Repo(str(workspace), uninitialized=True) as repo:  # a workspace without .dvc/ reads as well
        return [(stage.name, "metrics" if out.metric else "plots", out.def_path)
                for stage in repo.index.stages for out in stage.outs if out.metric or out.plot]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_value(value: Any) -> str:
    """Numbers to 4 significant digits, lists element-wise, missing as an em dash."""
    if value is None:
        return "—"
    if _number(value):
        if isinstance(value, int) or (math.isfinite(value) and value == int(value) and abs(value) < 1e15):
            return str(int(value))
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _change(new: Any, old: Any) -> str:
    if _number(new) and _number(old):
        delta = new - old
        if delta == 0:
            return "="
        relative = f" ({delta / abs(old):+.1%})" if old else ""
        return f"{delta:+.4g}{relative}"
    if old is None:
        return "new"
    return "=" if new == old else "changed"


def metric_table(workspace: Path, path: str, stage: str, baseline: str) -> Table:
    current = flatten(json.loads((workspace / path).read_text()))
    shown = _git(workspace, "show", f"{baseline}:./{path}")
    try:
        previous = flatten(json.loads(shown)) if shown is not None else {}
    except json.JSONDecodeError:
        previous = {}
    rows = tuple((key, format_value(value), format_value(previous.get(key)), _change(value, previous.get(key)))
                 for key, value in current.items())
    note = "" if shown is not None else f"no {path} at {baseline}: nothing to compare with"
    return Table(f"{stage}: {path}", ("metric", "this run", f"previous ({baseline})", "change"), rows, note)


def _zarr_attributes(path: Path) -> dict[str, Any] | None:
    meta = path / "zarr.json"
    if not meta.is_file():
        return None
    return dict(json.loads(meta.read_text()).get("attributes") or {})


def _stores(path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Zarr stores at ``path`` or directly inside it, with their attributes."""
    attributes = _zarr_attributes(path)
    if attributes is not None:
        yield path, attributes
    elif path.is_dir():
        for child in sorted(path.iterdir()):
            child_attributes = _zarr_attributes(child) if child.is_dir() else None
            if child_attributes is not None:
                yield child, child_attributes


def _source_files(attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
    listed = attributes.get("source_files")
    if isinstance(listed, str):
        try:
            listed = json.loads(listed)
        except json.JSONDecodeError:
            listed = None
    if isinstance(listed, list) and listed:
        return [(str(f.get("name", "")), str(f.get("sha256", ""))) for f in listed if isinstance(f, Mapping)]
    if "source_file" in attributes:
        return [(str(attributes["source_file"]), str(attributes.get("source_sha256", "")))]
    return []


def _provenance(workspace: Path, lock: Mapping[str, Any]) -> list[Table]:
    outputs, sources = [], []
    for stage, entry in (lock.get("stages") or {}).items():
        for out in entry.get("outs") or []:
            size = out.get("size")
            files = out.get("nfiles")
            outputs.append((stage, out["path"], out.get("md5", ""), format_value(size), format_value(files)))
            for store, attributes in _stores(workspace / out["path"]):
                where = store.relative_to(workspace).as_posix()
                reader = attributes.get("reader", "")
                version = attributes.get("reader_version", "")
                generated = attributes.get("generator") or attributes.get("equation")
                files_of = _source_files(attributes) or [(f"(generated: {generated})" if generated else "—", "")]
                for name, sha in files_of:
                    sources.append((where, name, sha, f"{reader} {version}".strip() or "—",
                                    str(attributes.get("spectraflow_version", "—")),
                                    str(attributes.get("created", "—"))))
    return [
        Table("Sources of the stores", ("store", "source file", "sha256", "reader", "spectraflow", "created"),
              tuple(sources)),
        Table("DVC outputs (dvc.lock)", ("stage", "output", "md5", "bytes", "files"), tuple(outputs)),
    ]


_BOUND = re.compile(r"(>=|<=|≥|≤)\s*~?\s*([-+]?\d*\.?\d+)")
_FIRST_NUMBER = re.compile(r"[-+]?\d*\.?\d+")
#: The column a benchmark table gains when any of its rows states a floor (its ``floor`` column, or a cell's
#: ``(floor <= 10 %)``): whether the measured value meets it.
FLOOR_COLUMN = "floor met"
FLOOR_MET, FLOOR_MISSED = "✓ met", "✗ not met"


def _meets(value: str, floor: str) -> bool | None:
    """Whether the first number of ``value`` meets the bound in ``floor`` (``>= 0.5x``, ``<= ~100``); None
    where either has no number (``reference``, an empty cell)."""
    bound, number = _BOUND.search(floor), _FIRST_NUMBER.search(value)
    if bound is None or number is None:
        return None
    return float(number[0]) >= float(bound[2]) if bound[1] in (">=", "≥") else float(number[0]) <= float(bound[2])


def _floor_marks(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str] | None:
    """Per row, :data:`FLOOR_MET`, :data:`FLOOR_MISSED` or empty, against the floor it states; None when no row
    states one."""
    at = [i for i, c in enumerate(columns) if c.lower() == "floor" and i > 0]
    marks, stated = [], False
    for row in rows:
        checks = [_meets(row[i - 1], row[i]) for i in at]
        checks += [_meets(cell.split("(floor", 1)[0], cell.split("(floor", 1)[1]) for cell in row if "(floor" in cell]
        known = [c for c in checks if c is not None]
        stated = stated or bool(known)
        marks.append("" if not known else FLOOR_MET if all(known) else FLOOR_MISSED)
    return marks if stated else None


def _markdown_tables(text: str, source: str) -> list[Table]:
    """The markdown tables in a benchmark's printed output, each titled by the heading above it; a table
    stating floors gains a column saying, row by row, whether its value meets the floor."""
    tables: list[Table] = []
    lines = text.splitlines()
    header = [line for line in lines[:4] if line.startswith(("command:", "measured:"))]
    note = " ".join(line.rstrip(" ") for line in header)
    i, title = 0, ""
    while i < len(lines):
        line = lines[i].strip()
        is_table = (line.startswith("|") and i + 1 < len(lines)
                    and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip()) is not None)
        if is_table:
            columns = tuple(c.strip() for c in line.strip("|").split("|"))
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip().replace("**", "") for c in lines[i].strip().strip("|").split("|")]
                rows.append(tuple((cells + [""] * len(columns))[: len(columns)]))
                i += 1
            marks = _floor_marks(columns, rows)
            if marks is not None:
                columns = (*columns, FLOOR_COLUMN)
                rows = [(*row, mark) for row, mark in zip(rows, marks, strict=True)]
            name = f"{source}: {title}" if title else source
            taken = sum(1 for t in tables if t.title == name or t.title.startswith(name + " ("))
            tables.append(Table(name if not taken else f"{name} ({taken + 1})", columns, tuple(rows), note))
            continue
        if line.startswith("#"):
            title = line.lstrip("#").strip()
        i += 1
    return tables


def collect_report(workspace: str | os.PathLike[str] = ".", baseline: str = "HEAD",
                   benchmarks: str | os.PathLike[str] | None = None) -> Report:
    """Everything the report shows, read from ``workspace`` (see the module's docstring)."""
    workspace = Path(workspace)
    params_text = (workspace / "params.yaml").read_text()
    load_params(workspace / "params.yaml")  # refused as the stages refuse it (aliases, size)
    declared = _declared(workspace)
    lock_path = workspace / "dvc.lock"
    lock = yaml.safe_load(lock_path.read_text()) if lock_path.is_file() else {}
    revision = (_git(workspace, "rev-parse", "HEAD") or "").strip() or "not a git repository"
    if _git(workspace, "status", "--porcelain", "--untracked-files=no"):
        revision += " + uncommitted changes"
    metrics = [metric_table(workspace, path, stage, baseline) for stage, kind, path in declared
               if kind == "metrics" and (workspace / path).is_file()]
    figures = [Figure(f"{stage}: {path}", workspace / path) for stage, kind, path in declared
               if kind == "plots" and path.endswith(".png") and (workspace / path).is_file()]
    results = Path(benchmarks) if benchmarks is not None else workspace / "benchmarks" / "results"
    benchmark_tables = [table for path in sorted(results.glob("*.md"))
                        for table in _markdown_tables(path.read_text(), path.stem)]
    benchmark_figures = [Figure(f"{path.stem} (benchmarks/results/{path.name})", path)
                         for path in sorted(results.glob("*.png"))]
    scenes = _scene_names(workspace)
    sections = [SceneSection(scene, [t for t in metrics if _scene_of(t.title) == scene],
                             [f for f in figures if _scene_of(f.caption) == scene]) for scene in scenes]
    stages = {stage for stage, _, _ in declared}
    return Report(title="spectraflow pipeline report", created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  revision=revision, baseline=baseline, parameters=params_text,
                  provenance=_provenance(workspace, lock or {}),
                  metrics=[t for t in metrics if _scene_of(t.title) not in scenes], benchmarks=benchmark_tables,
                  benchmark_figures=benchmark_figures,
                  figures=[f for f in figures if _scene_of(f.caption) not in scenes],
                  overview=_overview(workspace, scenes, stages) if scenes else None, scenes=sections)


def _scene_of(title: str) -> str | None:
    """The scene of a table or figure titled ``<stage>@<scene>: <path>``, or None for a run-wide stage."""
    stage = title.split(":", 1)[0]
    return stage.split("@", 1)[1] if "@" in stage else None


def _scene_names(workspace: Path) -> list[str]:
    from ..collection import scene_entries

    params = load_params(workspace / "params.yaml")
    return list(scene_entries(params)) if (params.get("collection") or {}).get("scenes") else []


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _overview(workspace: Path, scenes: list[str], stages: set[str]) -> Table:
    """One row per scene: thumbnail, sensor, size, bands kept, noise, headline scores, status."""
    from ..collection import COMPANION_STAGE, PER_SCENE_STAGES, SceneLayout
    from ..cube import CUBE
    from ..io import open_store
    from .figures import scene_thumbnail

    rows = []
    for scene in scenes:
        layout = SceneLayout(scene)
        metrics = {stage: _read_json(workspace / layout.metrics(stage)) for stage in (*PER_SCENE_STAGES,
                                                                                          COMPANION_STAGE)}
        missing = [s for s in metrics if f"{s}@{scene}" in stages and not metrics[s]]
        picture: Any = "—"
        sensor = size = "—"
        store = workspace / layout.store("scene")
        if (store / "zarr.json").is_file():
            ingested = open_store(store)
            picture = Thumbnail(scene_thumbnail(ingested), f"{scene} (RGB)")
            sensor = str(ingested[CUBE].attrs.get("sensor", "unknown"))
            size = " × ".join(str(n) for n in ingested[CUBE].shape)
        denoise = {k: v for k, v in metrics["denoise"].items() if k != "noisy" and isinstance(v, Mapping)}
        first = next(iter(denoise), None)
        denoised = f"{first}: {denoise[first]['mpsnr']:.2f} dB" if first and "mpsnr" in denoise[first] else "—"
        unmix = metrics["unmix"]
        unmixed = (f"SAD {math.degrees(unmix['sad_mean']):.2f}° ({unmix.get('n_endmembers')} endmembers)"
                   if _number(unmix.get("sad_mean")) else
                   f"{unmix['n_endmembers']} endmembers" if "n_endmembers" in unmix else "—")
        detectors = {k: v for k, v in metrics["anomaly"].items() if isinstance(v, Mapping)}
        lead = next(iter(detectors), None)
        anomalies = (f"{lead}: AUC {detectors[lead]['auc']:.4f}" if lead and _number(detectors[lead].get("auc"))
                     else f"{lead}: scored (no map)" if lead else "—")
        fusers = {k: v for k, v in metrics[COMPANION_STAGE].items() if isinstance(v, Mapping)}
        fuser = next(iter(fusers), None)
        scored = fusers[fuser].get("reference") or fusers[fuser].get("reduced") if fuser else None
        fused = (f"{fuser}: {scored['psnr']:.2f} dB ({'reference' if 'reference' in fusers[fuser] else 'reduced'}, "
                 f"×{metrics[COMPANION_STAGE].get('ratio')})" if scored and _number(scored.get("psnr")) else "—")
        preprocess = metrics["preprocess"]
        rows.append((picture, scene, sensor, size, preprocess.get("bands_out"), preprocess.get("noise_std_median"),
                     denoised, unmixed, anomalies, fused, "missing: " + ", ".join(missing) if missing else "complete"))
    return Table("The collection", ("", "scene", "sensor", "size (y × x × bands)", "bands kept",
                                    "noise σ (median, normalised)", "denoised (first method, MPSNR)",
                                    "unmixed", "anomalies (first detector)", "fused (first method, PSNR)", "status"),
                 tuple(rows),
                 "status: complete when every per-scene stage has written its metrics; a failed or not yet run "
                 "stage is named. fused: scenes with a companion image, scored against their reference or, without "
                 "one, under Wald's reduced-resolution protocol.")


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #1d2430; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .6em 0 1.4em; font-size: 13px; }
th, td { border: 1px solid #d5d9e0; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #eef1f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
p.note { color: #5a6270; font-size: 12px; margin-top: -1em; }
pre { background: #f5f6f8; padding: 1em; overflow-x: auto; font-size: 12px; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #e0e3e8; }
figcaption { color: #5a6270; font-size: 12px; }
code.hash { font-size: 11px; }
td.missed { color: #a4161a; font-weight: 600; background: #fdecec; }
img.thumb { width: 96px; image-rendering: pixelated; border: 0; }
section.scene figure { display: inline-block; width: 720px; max-width: 100%; margin: .5em 1em .5em 0;
                       vertical-align: top; }
"""


def _cell(value: Any) -> str:
    if isinstance(value, Thumbnail):
        return (f'<td><img class="thumb" alt="{html.escape(value.alt)}" '
                f'src="data:image/png;base64,{base64.b64encode(value.png).decode()}"></td>')
    text = format_value(value)
    if re.fullmatch(r"[0-9a-f]{32,64}(\.dir)?", text):
        return f'<td><code class="hash" title="{text}">{text[:12]}…</code></td>'
    numeric = re.fullmatch(r"[+\-−]?[0-9.,]+(e[+\-]?\d+)?( \([+\-][0-9.]+%\))?( [a-zA-Zµ°/%]+)?", text) is not None
    if numeric:
        return f'<td class="num">{html.escape(text)}</td>'
    if text == FLOOR_MISSED:
        return f'<td class="missed">{text}</td>'
    # markdown's inline code (`x`, ``x``) as code, not as literal backticks
    return "<td>" + re.sub(r"(`+)(.+?)\1", r"<code>\2</code>", html.escape(text)) + "</td>"


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (f"<table><caption>{html.escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>\n{body}\n</tbody></table>{note}")


def _figure_html(figure: Figure, page_dir: Path | None) -> str:
    """A run-wide figure inlined whole; a scene's figure as a JPEG thumbnail linking to the full PNG."""
    caption = html.escape(figure.caption)
    if _scene_of(figure.caption) is None:
        data = base64.b64encode(figure.path.read_bytes()).decode()
        return (f'<figure><img alt="{caption}" src="data:image/png;base64,{data}"><figcaption>{caption}'
                "</figcaption></figure>")
    from .figures import figure_thumbnail

    mime, thumbnail = figure_thumbnail(figure.path)
    image = f'<img alt="{caption}" src="data:{mime};base64,{base64.b64encode(thumbnail).decode()}">'
    if page_dir is not None:
        href = html.escape(Path(os.path.relpath(figure.path.resolve(), page_dir.resolve())).as_posix())
        image = f'<a href="{href}">{image}</a>'
    return f"<figure>{image}<figcaption>{caption} (full size: click)</figcaption></figure>"


def render_html(report: Report, page: str | os.PathLike[str] | None = None) -> str:
    """One self-contained page: nothing in it makes the browser fetch anything. With ``page`` (where it will be
    written), scene figures link to their full PNG by a relative path."""
    page_dir = Path(page).parent if page is not None else None
    figures = "\n".join(_figure_html(f, page_dir) for f in report.figures)
    scenes = "\n".join(
        f'<section class="scene"><h3 id="scene-{html.escape(s.name)}">{html.escape(s.name)}</h3>'
        + "".join(_html_table(t) for t in s.metrics) + "".join(_figure_html(f, page_dir) for f in s.figures)
        + "</section>" for s in report.scenes)
    sections = []
    if report.overview is not None:
        sections.append(("Collection", _html_table(report.overview) + "<p>"
                         + " · ".join(f'<a href="#scene-{html.escape(s.name)}">{html.escape(s.name)}</a>'
                                      for s in report.scenes) + "</p>"))
    sections += [
        ("Metrics", f"<p>Each value beside the same metric at <code>{html.escape(report.baseline)}</code> "
                    "(the last committed run).</p>" + "".join(_html_table(t) for t in report.metrics)),
        ("Figures", figures or "<p>No figures.</p>"),
    ]
    if report.scenes:
        sections.append(("Scenes", "<p>Each scene's metrics (beside the same metric at "
                                   f"<code>{html.escape(report.baseline)}</code>) and figures.</p>" + scenes))
    sections += [
        ("Benchmarks", "<p>Measured by hand with the scripts in <code>benchmarks/</code>, ours beside the peers in "
                       "one run on one machine.</p>" + ("".join(_html_table(t) for t in report.benchmarks)
                                                       or "<p>No benchmark results recorded.</p>")
                       + "".join(_figure_html(f, page_dir) for f in report.benchmark_figures)),
        ("Provenance", "".join(_html_table(t) for t in report.provenance)),
        ("Parameters", f"<pre>{html.escape(report.parameters)}</pre>"),
    ]
    toc = " · ".join(f'<a href="#{name.lower()}">{name}</a>' for name, _ in sections)
    body = "\n".join(f'<h2 id="{name.lower()}">{name}</h2>\n{content}' for name, content in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(report.title)}</title><style>{_STYLE}</style></head>
<body><h1>{html.escape(report.title)}</h1>
<p>Written {html.escape(report.created)} · revision <code>{html.escape(report.revision)}</code></p>
<p>{toc}</p>
{body}
</body></html>
"""


def _markdown_table(table: Table) -> str:
    lines = [f"**{table.title}**", "", "| " + " | ".join(table.columns) + " |",
             "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(format_value(v).replace("|", "\\|") for v in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return "\n".join(lines)


def render_markdown(report: Report, html_path: str | os.PathLike[str] | None = None) -> str:
    """The report's tables in markdown (for a Prefect artifact); figures by path."""
    parts = [f"# {report.title}", "", f"Written {report.created} · revision `{report.revision}`"]
    if html_path is not None:
        parts.append(f"The full page with the figures: `{html_path}`")
    if report.overview is not None:
        parts += ["", "## Collection", "", _markdown_table(report.overview)]
    parts += ["", f"## Metrics (previous: `{report.baseline}`)", ""]
    parts += [_markdown_table(t) + "\n" for t in report.all_metrics()]
    parts += ["## Benchmarks", ""] + [_markdown_table(t) + "\n" for t in report.benchmarks]
    parts += [f"- figure: {f.caption}" for f in report.benchmark_figures]
    parts += ["## Figures", ""] + [f"- {f.caption}" for f in report.all_figures()]
    parts += ["", "## Provenance", ""] + [_markdown_table(t) + "\n" for t in report.provenance]
    return "\n".join(parts)


def write_report(out: str | os.PathLike[str], workspace: str | os.PathLike[str] = ".", baseline: str = "HEAD",
                 ) -> tuple[Path, Report]:
    """Collect the report of ``workspace`` and write its page to ``out`` (write beside, then rename)."""
    report = collect_report(workspace, baseline)
    dest = Path(out)
    with atomic_output(dest) as tmp:
        tmp.write_text(render_html(report, dest), encoding="utf-8")
    return dest, report
