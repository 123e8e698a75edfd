"""Tasks of the fuse stage."""

from __future__ import annotations

from prefect import task

from spectraflow.config import FuseConfig
from tasks.metrics import record_metrics


@task(name="fuse-store")
def fuse_scene(config: FuseConfig, metrics_path: str) -> str:
    """Sharpen ``config.input`` with its companion's store into ``config.out``; the scores go to ``metrics_path``.
    The reference, a path from ``params.yaml``, must resolve inside the workspace."""
    from spectraflow.io import resolve_inside
    from spectraflow.methods.fusion import fuse_store

    if config.reference_path is not None:
        resolve_inside(config.reference_path, ".", "fuse.reference")
    store, metrics = fuse_store(config.input, config.companion_store, config.out, methods=config.methods,
                                steps=config.steps, srf=config.srf, reference=config.reference_path,
                                score_window=config.score_window)
    record_metrics(metrics_path, metrics)
    return str(store)


@task(name="fusion-figure")
def fusion_figure(store: str, config: FuseConfig, figure_path: str) -> str:
    """The scene (each pixel repeated over the finer grid), every method's fused cube and the reference when there
    is one, on the window the metrics scored: colour composites, a detail, spectra at a few pixels."""
    import json

    import numpy as np

    from spectraflow.cube import CUBE
    from spectraflow.io import open_store
    from spectraflow.methods.fusion import RESULT_PREFIX, coarse_window, read_reference
    from spectraflow.preprocess import parse_steps, run_chain
    from spectraflow.report import fusion_overview

    result = open_store(store)
    names = [entry["name"] for entry in json.loads(result.attrs["fusion"])]
    ratio = int(result.attrs["resolution_ratio"])
    window = json.loads(result.attrs["scored_window"])
    fine = slice(*window["y"]), slice(*window["x"])
    coarse = coarse_window(fine, ratio)
    scene = run_chain(open_store(config.input), parse_steps(config.steps))[CUBE]
    scene = scene.isel(y=coarse[0], x=coarse[1]).load()
    fused = result.isel(y=fine[0], x=fine[1])
    replicated = fused[CUBE].copy(data=np.kron(scene.values, np.ones((ratio, ratio, 1), dtype=scene.dtype)))
    panels = {"scene": replicated, names[0]: fused[CUBE], **{n: fused[f"{RESULT_PREFIX}{n}"] for n in names[1:]}}
    reference = (None if config.reference_path is None
                 else read_reference(config.reference_path, scene, result[CUBE].shape[:2], fine))
    return str(fusion_overview(panels, figure_path, reference=reference,
                               title=f"fusion of {config.input} with its companion (ratio {ratio})"))
