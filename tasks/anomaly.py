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
    only), and its AUC minus the best detector's with that difference's 95 % interval by the map's objects
    (``auc_vs_best``, ``auc_vs_best_interval``: null with a single object; ``spectraflow.metrics.compare_auc``); the
    figure (score maps beside the truth, each with its AUC against the best; ROC curves)."""
    import json

    import numpy as np
    import xarray as xr

    from spectraflow.methods.anomaly import SCORES
    from spectraflow.metrics import AucComparison, anomaly_scores, compare_auc
    from spectraflow.report import anomaly_overview

    result = xr.open_zarr(store, consolidated=False).compute()
    valid = result["valid"].values if "valid" in result else np.ones(result[SCORES].shape[1:], dtype=bool)
    truth = result["anomaly_map"].values if "anomaly_map" in result else None
    metrics: dict[str, object] = {"anomalous_pixels": int(truth[valid].sum()) if truth is not None else None}
    maps = {entry["name"]: np.where(valid, values, np.nan)
            for entry, values in zip(json.loads(result.attrs["anomaly"]), result[SCORES].values, strict=True)}
    scored: dict[str, dict[str, float]] = {}
    against_best: dict[str, AucComparison] = {}
    if truth is not None:
        scored = {name: anomaly_scores(values[valid], truth[valid]) for name, values in maps.items()}
        best = max(scored, key=lambda name: scored[name]["auc"])
        against_best = {name: compare_auc(values, maps[best], truth) for name, values in maps.items()}
    for name in maps:
        detector: dict[str, object] = {"seconds": seconds[name], "scored_pixels": int(valid.sum()),
                                       **scored.get(name, {})}
        if name in against_best:
            compared = against_best[name]
            detector["auc_vs_best"] = compared.difference
            detector["auc_vs_best_interval"] = compared.half_width if np.isfinite(compared.half_width) else None
        metrics[name] = detector
    record_metrics(metrics_path, metrics)
    anomaly_overview(result, figure_path, against_best)
    return metrics
