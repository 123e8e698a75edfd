"""Tasks of the preprocess stage."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from prefect import task
from prefect.artifacts import create_table_artifact

from spectraflow.config import PreprocessConfig
from tasks.metrics import artifact_key, metrics_stage, record_metrics

if TYPE_CHECKING:
    import xarray as xr


@task(name="preprocess-store")
def preprocess_scene(config: PreprocessConfig) -> str:
    """Run the configured chain on ``config.input`` and write the store ``config.out``."""
    from spectraflow.preprocess import preprocess_store

    return str(preprocess_store(config.input, config.out, config.parsed_steps(), patches=config.patch_config(),
                                compressor=config.compressor))


@task(name="describe-preprocessing")
def describe_preprocessing(source: str, store: str, metrics_path: str, figure_path: str) -> dict[str, object]:
    """Metrics (bands in/out, removed bands, patch counts), the chain as a table artifact, and the figure."""
    from spectraflow.io import open_store
    from spectraflow.preprocess import chain_records
    from spectraflow.report import preprocessing_overview

    before, after = open_store(source), open_store(store)
    records = chain_records(after)
    metrics: dict[str, object] = {"bands_in": before.sizes["band"], "bands_out": after.sizes["band"],
                                  "steps": len(records)}
    for record in records:
        if record["step"] == "bad_bands":
            metrics["bands_removed"] = len(record["fitted"]["removed"])
    metrics["noise_std_median"] = _median_noise(after)
    if "patch_split" in after:
        split = after["patch_split"].values
        metrics.update(patches_train=int((split == 0).sum()), patches_val=int((split == 1).sum()))
    record_metrics(metrics_path, metrics)
    create_table_artifact(key=artifact_key(f"chain {metrics_stage(metrics_path)}"),
                          description=f"Preprocessing chain of {store}", table=[
        {"step": r["step"], "params": json.dumps(r["params"]),
         "fitted": ", ".join(f"{k}: {_brief(v)}" for k, v in r["fitted"].items())} for r in records])
    preprocessing_overview(before, after, figure_path)
    return metrics


def _median_noise(scene: xr.Dataset, max_pixels: int = 100_000) -> float:
    """The median over bands of the noise standard deviation (HySime's regression estimate) of the scene's
    valid pixels, on a regular spatial subsample of about ``max_pixels`` (only those are read): the overview's
    noise figure."""
    import numpy as np

    from spectraflow.cube import CUBE
    from spectraflow.preprocess import estimate_noise

    cube = scene[CUBE]
    ny, nx, nb = cube.shape
    step = max(1, int(np.ceil(np.sqrt(ny * nx / max_pixels))))
    pixels = cube[::step, ::step].values.reshape(-1, nb)
    if "valid" in scene:
        pixels = pixels[scene["valid"][::step, ::step].values.reshape(-1)]
    return float(np.median(estimate_noise(pixels.astype(np.float64)[:, None, :], "regression")))


def _brief(value: object) -> str:
    if isinstance(value, list) and len(value) > 6:
        return f"[{len(value)} values]"
    return json.dumps(value)
