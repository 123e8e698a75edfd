"""Tasks of the synth and ingest stages."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.logging import get_run_logger

from spectraflow.config import IngestConfig, SynthConfig
from spectraflow.io import ingest, resolve_inside, store_info
from spectraflow.synth import eels_scene, synthetic_acquisition, write_eels_hspy, write_scene_envi
from tasks.metrics import artifact_key, metrics_stage, record_metrics


@task(name="synthesize-scene", task_run_name="synthesize {directory}")
def synthesize_scene(config: SynthConfig, directory: str) -> str:
    """Write one built-in synthetic scene in ``directory``, with its ground truth: an EELS spectrum image as
    ``scene.hspy``; a reflectance scene as an ENVI cube and, when it has a companion, the companion as
    ``companion.hdr`` and the fine reference as ``reference.nc``. Returns the scene's file (an ENVI header)."""
    from pathlib import Path

    if config.kind == "eels":
        path = write_eels_hspy(eels_scene(config.seed, height=config.height, width=config.width, dose=config.dose),
                               directory)
        get_run_logger().info("wrote %s (%d bytes)", path, path.stat().st_size)
        return str(path)
    acquisition = synthetic_acquisition(config.seed, companion=config.companion, ratio=config.ratio,
                                        height=config.height, width=config.width, endmembers=config.endmembers,
                                        sensor=config.sensor, nodata_corner=config.nodata_corner)
    header, raw = write_scene_envi(acquisition.scene, directory)
    get_run_logger().info("wrote %s (%d bytes)", raw, raw.stat().st_size)
    if acquisition.companion is not None and acquisition.reference is not None:
        write_scene_envi(acquisition.companion, directory, name="companion")
        acquisition.reference.to_netcdf(Path(directory) / "reference.nc", engine="h5netcdf")
    return str(header)


def is_io_error(state: object) -> bool:
    """Retry transient I/O failures only; a bad file fails at once with its message."""
    from spectraflow.errors import SpectraflowError

    try:
        state.result()  # type: ignore[attr-defined]
    except SpectraflowError:
        return False
    except OSError:
        return True
    except BaseException:
        return False
    return False


@task(name="ingest-file", retries=2, retry_delay_seconds=1,
      retry_condition_fn=lambda task, run, state: is_io_error(state))
def ingest_file(config: IngestConfig, data_root: str = "data") -> str:
    """Ingest ``config.source_path`` into the store ``config.out``; retried on transient I/O errors.

    Paths from ``params.yaml`` stay in the workspace even through symbolic links: the source and its ground
    truth must resolve inside it, the store inside ``data_root``."""
    for path, what in ((config.source_path, "ingest.source"), (config.ground_truth_path, "ingest.ground_truth")):
        if path is not None:
            resolve_inside(path, ".", what)
    store = ingest(config.source_path, config.out, format=config.format, name=config.name, data_root=data_root,
                   nonfinite=config.nonfinite, compressor=config.compressor,  # type: ignore[arg-type]
                   ground_truth=config.ground_truth_path)
    return str(store)


@task(name="scene-figure")
def scene_figure(store: str, path: str) -> str:
    """The scene overview PNG (RGB, spectra, ground-truth endmembers) that dvc.yaml lists under plots."""
    from spectraflow.io import open_store
    from spectraflow.report import scene_overview

    return str(scene_overview(open_store(store), path))


@task(name="describe-store")
def describe_store(store: str, metrics_path: str) -> dict[str, object]:
    """Publish a store's layout as a Prefect table artifact and a DVC metrics file."""

    info = store_info(store)
    metrics = {"files": info["files"], "megabytes": round(info["bytes"] / 1e6, 3),
               **{f"size_{k}": v for k, v in info["dims"].items()}}
    record_metrics(metrics_path, metrics)
    layout = {**info["dims"], "files": info["files"], "shards": info["shards"],
              "source_sha256": info["provenance"]["source_sha256"]}
    create_table_artifact(key=artifact_key(f"store {metrics_stage(metrics_path)}"), description=f"Store {store}",
                          table=[{"field": k, "value": str(v)} for k, v in layout.items()])
    return metrics
