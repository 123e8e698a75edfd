"""The run's report: parameters, provenance, metrics against the previous run and the benchmarks, figures.

:func:`collect_report` gathers everything from a workspace (a DVC repository laid out as this project's):

- the parameters (``params.yaml`` as it is);
- provenance: the git revision, each DVC output of ``dvc.lock`` with its hash, and for every zarr store among
  the outputs its source files with their sha256, the reader and the versions that wrote it;
- one metrics table per metrics file ``dvc.yaml`` declares, each value next to the same metric at a baseline
  revision (default ``HEAD``: the last committed run, what ``dvc metrics diff`` compares against);
- the tables the benchmarks printed (``benchmarks/results/*.md``: ours beside the peers, measured in one run);
- the PNG figures ``dvc.yaml`` declares under ``plots:``, in stage order.

:func:`render_html` makes one self-contained page of it (figures inlined as data URIs, styles inline, no
script, and a content security policy that forbids the page any request), :func:`render_markdown` the same
tables for a Prefect artifact, and :func:`write_report` writes the page atomically.
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

__all__ = ["Table", "Figure", "Report", "collect_report", "render_html", "render_markdown", "write_report",
           "flatten"]

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
class Report:
    title: str
    created: str
    revision: str
    baseline: str
    parameters: str
    provenance: list[Table] = field(default_factory=list)
    metrics: list[Table] = field(default_factory=list)
    benchmarks: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


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


def _metric_table(workspace: Path, path: str, stage: str, baseline: str) -> Table:
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


def _markdown_tables(text: str, source: str) -> list[Table]:
    """The markdown tables in a benchmark's printed output, each titled by the heading above it."""
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
    metrics = [_metric_table(workspace, path, stage, baseline) for stage, kind, path in declared
               if kind == "metrics" and (workspace / path).is_file()]
    figures = [Figure(f"{stage}: {path}", workspace / path) for stage, kind, path in declared
               if kind == "plots" and path.endswith(".png") and (workspace / path).is_file()]
    results = Path(benchmarks) if benchmarks is not None else workspace / "benchmarks" / "results"
    benchmark_tables = [table for path in sorted(results.glob("*.md"))
                        for table in _markdown_tables(path.read_text(), path.stem)]
    return Report(title="spectraflow pipeline report", created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                  revision=revision, baseline=baseline, parameters=params_text,
                  provenance=_provenance(workspace, lock or {}), metrics=metrics, benchmarks=benchmark_tables,
                  figures=figures)


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
"""


def _cell(value: Any) -> str:
    text = format_value(value)
    if re.fullmatch(r"[0-9a-f]{32,64}(\.dir)?", text):
        return f'<td><code class="hash" title="{text}">{text[:12]}…</code></td>'
    numeric = re.fullmatch(r"[+\-−]?[0-9.,]+(e[+\-]?\d+)?( \([+\-][0-9.]+%\))?( [a-zA-Zµ°/%]+)?", text) is not None
    return f'<td class="num">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>"


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (f"<table><caption>{html.escape(table.title)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>\n{body}\n</tbody></table>{note}")


def render_html(report: Report) -> str:
    """One self-contained page: nothing in it makes the browser fetch anything."""
    figures = "\n".join(
        f'<figure><img alt="{html.escape(f.caption)}" src="data:image/png;base64,'
        f'{base64.b64encode(f.path.read_bytes()).decode()}"><figcaption>{html.escape(f.caption)}</figcaption></figure>'
        for f in report.figures)
    sections = [
        ("Metrics", f"<p>Each value beside the same metric at <code>{html.escape(report.baseline)}</code> "
                    "(the last committed run).</p>" + "".join(_html_table(t) for t in report.metrics)),
        ("Figures", figures or "<p>No figures.</p>"),
        ("Benchmarks", "<p>Measured by hand with the scripts in <code>benchmarks/</code>, ours beside the peers in "
                       "one run on one machine.</p>" + ("".join(_html_table(t) for t in report.benchmarks)
                                                       or "<p>No benchmark results recorded.</p>")),
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
    parts += ["", f"## Metrics (previous: `{report.baseline}`)", ""]
    parts += [_markdown_table(t) + "\n" for t in report.metrics]
    parts += ["## Benchmarks", ""] + [_markdown_table(t) + "\n" for t in report.benchmarks]
    parts += ["## Figures", ""] + [f"- {f.caption}" for f in report.figures]
    parts += ["", "## Provenance", ""] + [_markdown_table(t) + "\n" for t in report.provenance]
    return "\n".join(parts)


def write_report(out: str | os.PathLike[str], workspace: str | os.PathLike[str] = ".", baseline: str = "HEAD",
                 ) -> tuple[Path, Report]:
    """Collect the report of ``workspace`` and write its page to ``out`` (write beside, then rename)."""
    report = collect_report(workspace, baseline)
    dest = Path(out)
    with atomic_output(dest) as tmp:
        tmp.write_text(render_html(report), encoding="utf-8")
    return dest, report
