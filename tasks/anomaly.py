"""Tasks of the anomaly stage."""

from __future__ import annotations

from prefect import task

from spectraflow.config import AnomalyConfig
from tasks.metrics import record_metrics


@task(name="anomaly-scores")
def detect_anomalies(config: AnomalyConfig) -> tuple[str, dict[str, float]]:
    """Score ``config.input`` with every configured detector into the store ``config.out``; the store and each
    detector's seconds."""
    from spectraflow.methods.anomaly import detect_store

    store, seconds = detect_store(config.input, config.out, steps=config.steps, methods=config.methods)
    return str(store), seconds


@task(name="evaluate-anomalies")
def evaluate_anomalies(store: str, seconds: dict[str, float], metrics_path: str,
                       figure_path: str) -> dict[str, object]:
    """Per detector: its seconds (apart, a timing), the pixels it scored and, when the scene has an anomaly map,
    ROC AUC, the AUCs of detection and of false alarm against the threshold, separability and SNPR (valid pixels
    only); the figure (score maps beside the truth, ROC curves)."""
    import json

    import numpy as np
    import xarray as xr

    from spectraflow.methods.anomaly import SCORES
    from spectraflow.metrics import anomaly_scores
    from spectraflow.report import anomaly_overview

    result = xr.open_zarr(store, consolidated=False).compute()
    valid = result["valid"].values if "valid" in result else np.ones(result[SCORES].shape[1:], dtype=bool)
    metrics: dict[str, object] = {"anomalous_pixels": int(result["anomaly_map"].values[valid].sum())
                                  if "anomaly_map" in result else None}
    for entry, values in zip(json.loads(result.attrs["anomaly"]), result[SCORES].values, strict=True):
        scores: dict[str, object] = {"seconds": seconds[entry["name"]], "scored_pixels": int(valid.sum())}
        if "anomaly_map" in result:
            scores.update(anomaly_scores(values[valid], result["anomaly_map"].values[valid]))
        metrics[entry["name"]] = scores
    record_metrics(metrics_path, metrics)
    anomaly_overview(result, figure_path)
    return metrics
