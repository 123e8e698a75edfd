"""The ``spectraflow`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .errors import SpectraflowError

app = typer.Typer(help="spectraflow: hyperspectral and spectral data pipelines.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)


def _fail(exc: SpectraflowError) -> None:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(
        help="Input file (ENVI header or raw, .mat, .nc/.h5, .tif, .npy, .dm3/.dm4, .emd, .hspy).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Store to write, e.g. data/stores/scene.zarr.")],
    format: Annotated[str | None, typer.Option("--format", "-f", help="Reader to use instead of detecting it.")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Dataset name recorded in the store.")] = None,
    data_root: Annotated[Path | None, typer.Option(
        help="Refuse an output outside this directory (default: write where --out says).")] = None,
    nonfinite: Annotated[str, typer.Option(help="NaN/inf in float data: 'refuse' or 'mask' (keep as NaN).")] = "refuse",
    compressor: Annotated[str, typer.Option(help="Cube compression: none, lz4 or zstd.")] = "none",
    variable: Annotated[str | None, typer.Option(help="Variable holding the cube (.mat, .nc/.h5).")] = None,
    signal: Annotated[int | None, typer.Option(help="Which spectrum image of a Velox .emd (0-based).")] = None,
    ground_truth: Annotated[
        Path | None, typer.Option(help="NetCDF with endmembers/abundances/masks to store with the cube.")
    ] = None,
) -> None:
    """Read an instrument file and write it as a sharded zarr store (atomically)."""
    from ._progress import DaskProgress
    from .io import ingest as ingest_file
    from .io import store_info

    options: dict[str, Any] = {"variable": variable} if variable else {}
    if signal is not None:
        options["signal"] = signal
    try:
        with DaskProgress(f"ingest {path.name}"):
            store = ingest_file(path, out, format=format, name=name, data_root=data_root,
                                nonfinite=nonfinite, compressor=compressor,  # type: ignore[arg-type]
                                ground_truth=ground_truth, **options)
        info = store_info(store)
    except SpectraflowError as exc:
        _fail(exc)
        return
    console.print(f"wrote [bold]{store}[/]: {info['dims']} {info['dtype']}, {info['files']} files")


@app.command()
def info(
    store: Annotated[Path, typer.Argument(help="A spectraflow zarr store.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Describe a store: dims, spectral axis and range, chunks/shards, file count, provenance.

    The spectral axis is named with its units: wavelength (nm), energy loss (eV), wavenumber (cm⁻¹)."""
    from .io import store_info

    try:
        details = store_info(store)
    except SpectraflowError as exc:
        _fail(exc)
        return
    if as_json:
        console.print_json(json.dumps(details, default=str))
        return
    table = Table(title=str(store), show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    axis = details["spectral_axis"]
    span = axis["range"]
    rows = {
        "dims": ", ".join(f"{k}={v}" for k, v in details["dims"].items()),
        "dtype": details["dtype"],
        axis["name"].replace("_", " "): f"{span[0]:.1f}–{span[1]:.1f} {axis['units']}" if span else "unknown",
        "good bands": str(details["good_bands"]),
        "chunks / shards": f"{details['chunks']} / {details['shards']}",
        "files / bytes": f"{details['files']} / {details['bytes']:,}",
        "variables": ", ".join(details["variables"]),
    }
    rows.update({f"cube.{k}": str(v) for k, v in details["cube_attrs"].items()})
    rows.update({k: str(v) for k, v in details["provenance"].items()})
    for key, value in rows.items():
        table.add_row(key, value)
    console.print(table)


@app.command()
def methods() -> None:
    """List the registered methods by family."""
    from .methods import FAMILIES, names

    for family in FAMILIES:
        registered = names(family)
        console.print(f"[bold]{family}[/]: {', '.join(registered) if registered else '(none yet)'}", soft_wrap=True)


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the ENVI files and ground truth.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    height: Annotated[int, typer.Option(help="Rows.")] = 128,
    width: Annotated[int, typer.Option(help="Columns.")] = 128,
    name: Annotated[str, typer.Option(help="File stem.")] = "scene",
) -> None:
    """Generate the built-in synthetic scene and write it as an ENVI cube (int16, BIL) plus ground truth."""
    from .synth import synthetic_scene, write_scene_envi

    header, raw = write_scene_envi(synthetic_scene(seed, height=height, width=width), out_dir, name=name)
    console.print(f"wrote {header} and {raw}")


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML page to write.")] = Path("data/report/index.html"),
    workspace: Annotated[Path, typer.Option(help="The pipeline's workspace (a DVC repository).")] = Path("."),
    baseline: Annotated[str, typer.Option(help="Git revision whose metrics this run's are compared with.")] = "HEAD",
) -> None:
    """Write the run's self-contained HTML report (opens offline: the page makes no request).

    Metrics (against BASELINE and the benchmarks), figures, provenance and parameters."""
    from .report.document import write_report

    try:
        path, collected = write_report(out, workspace, baseline)
    except (OSError, ValueError) as exc:
        _fail(SpectraflowError(f"{workspace}: cannot write the report: {exc}"))
        return
    console.print(f"wrote [bold]{path}[/]: {len(collected.metrics)} metrics tables, {len(collected.figures)} figures, "
                  f"{len(collected.benchmarks)} benchmark tables", soft_wrap=True)


@app.command()
def server(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4200,
    log_level: Annotated[str, typer.Option(help="The web server's log level.")] = "warning",
) -> None:
    """Run Prefect's server (API, UI, services); point the pipeline at it with PREFECT_API_URL=http://HOST:PORT/api.

    As `prefect server start` does, but with its SQLite write transactions begun IMMEDIATE, so that concurrent
    stages queue on the database instead of being told to retry in 2-32 s (spectraflow.prefect_server)."""
    from .prefect_server import serve

    console.print(f"Prefect server: UI http://{host}:{port}, API http://{host}:{port}/api (Ctrl+C stops it)",
                  soft_wrap=True)
    serve(host, port, log_level)


if __name__ == "__main__":  # pragma: no cover
    app()
