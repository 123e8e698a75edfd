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

    store, metrics = denoise_store(config.input, config.out, config.methods, config.noise)
    Path(metrics_path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_path).write_text(json.dumps(metrics, indent=2) + "\n")
    rows = [{"cube": k, **{m: round(v, 4) for m, v in scores.items()}} for k, scores in metrics.items()]
    create_table_artifact(key="denoising-metrics", table=rows, description=f"denoising {config.input}")
    return str(store)


@task(name="denoising-figure")
def denoising_figure(store: str, source: str, path: str) -> str:
    """Noisy / denoised / clean band and spectrum, the PNG dvc.yaml lists under plots."""
    from spectraflow.io import open_store
    from spectraflow.methods.denoisers import RESULT_PREFIX
    from spectraflow.report import denoising_overview

    result = open_store(store)
    names = [m["name"] for m in json.loads(result.attrs["denoising"])]
    results = {names[0]: result["cube"], **{n: result[f"{RESULT_PREFIX}{n}"] for n in names[1:]}}
    noisy = result["noisy"] if "noisy" in result else None
    clean = open_store(source)["cube"] if noisy is not None else None
    return str(denoising_overview(results, path, noisy=noisy, clean=clean, title=f"denoising {source}"))
