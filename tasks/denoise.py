"""Tasks of the denoise stage."""

from __future__ import annotations

import json
from pathlib import Path

from prefect import task
from prefect.artifacts import create_table_artifact

from spectraflow.config import DenoiseConfig


@task(name="denoise-store")
def denoise_scene(config: DenoiseConfig, metrics_path: str) -> str:
    """Denoise ``config.input`` into ``config.out``; scores (when noise was added) go to ``metrics_path``."""
    from spectraflow.methods.denoisers import denoise_store

    store, metrics = denoise_store(config.input, config.out, config.method, config.noise)
    Path(metrics_path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_path).write_text(json.dumps(metrics, indent=2) + "\n")
    rows = [{"cube": k, **{m: round(v, 4) for m, v in metrics[k].items()}} for k in ("noisy", "denoised")
            if k in metrics]
    if rows:
        create_table_artifact(key="denoising-metrics", table=rows, description=f"{metrics['method']} on {store}")
    return str(store)


@task(name="denoising-figure")
def denoising_figure(store: str, source: str, path: str) -> str:
    """Noisy / denoised / clean band and spectrum, the PNG dvc.yaml lists under plots."""
    from spectraflow.io import open_store
    from spectraflow.report import denoising_overview

    result = open_store(store)
    noisy = result["noisy"] if "noisy" in result else None
    clean = open_store(source)["cube"] if noisy is not None else None
    title = json.loads(result.attrs.get("denoising", "{}")).get("name", "")
    return str(denoising_overview(result["cube"], path, noisy=noisy, clean=clean, title=title))
