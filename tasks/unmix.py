"""Tasks of the unmix stage."""

from __future__ import annotations

from prefect import task

from spectraflow.config import UnmixConfig
from tasks.metrics import record_metrics


@task(name="unmix-store")
def unmix_scene_store(config: UnmixConfig) -> str:
    """Unmix ``config.input`` with the configured methods into the store ``config.out``."""
    from spectraflow.methods.unmixers import unmix_store

    return str(unmix_store(config.input, config.out, steps=config.steps, n_endmembers=config.n_endmembers,
                           endmembers=config.endmembers, abundances=config.abundances, blind=config.blind))


@task(name="evaluate-unmixing")
def evaluate_unmixing(store: str, metrics_path: str, figure_path: str, endmembers_path: str) -> dict[str, object]:
    """Scores against the ground truth when the scene has one (SAD, RMSE, SRE), whether the abundances are
    sufficiently scattered (identifiability, with its margin), the figure, an artifact, and
    a table per endmember for ``dvc plots`` (mean abundance; with ground truth its SAD and abundance RMSE)."""
    import numpy as np
    import xarray as xr

    from spectraflow._atomic import write_csv
    from spectraflow.metrics import sufficiently_scattered, unmixing_scores
    from spectraflow.report import unmixing_overview

    result = xr.open_zarr(store, consolidated=False).compute()
    metrics: dict[str, object] = {"n_endmembers": int(result.attrs["n_endmembers"]),
                                  "hysime_k": int(result.attrs["hysime_k"])}
    # whether the estimated abundances make the factorisation unique (up to permutation and scale); the
    # condition is about non-negative abundances (an estimator without that constraint gets no verdict)
    abundances = result["abundances"].values
    try:
        metrics["identifiability"] = sufficiently_scattered(abundances).as_dict()
    except ValueError:
        metrics["identifiability"] = {"holds": None}
    order = None
    if "true_endmembers" in result and result.sizes["true_endmember"] == result.sizes["endmember"]:
        valid = result["valid"].values if "valid" in result else np.ones(result["abundances"].shape[:2], bool)
        scores = unmixing_scores(result["endmembers"], result["abundances"].values[valid], result["true_endmembers"],
                                 result["true_abundances"].values[valid])  # valid pixels: (pixel, endmember)
        order = scores.pop("order")
        metrics.update(scores)
    record_metrics(metrics_path, metrics)
    # without ground truth the score columns are empty (dvc.yaml's plot reads sad_deg of every scene)
    rows = [{"endmember": str(name), "mean_abundance": round(float(np.nanmean(abundances[..., k])), 6),
             "sad_deg": "", "abundance_rmse": ""} for k, name in enumerate(result["endmember"].values)]
    if order is not None:  # each true endmember, the estimate matched to it
        truth = result["true_abundances"].values
        rows = [{"endmember": str(name), "mean_abundance": round(float(np.nanmean(abundances[..., order[k]])), 6),
                 "sad_deg": round(metrics["sad_per_endmember"][k], 6),  # type: ignore[index]
                 "abundance_rmse": round(float(np.sqrt(np.nanmean((abundances[..., order[k]] - truth[..., k]) ** 2))),
                                         6)}
                for k, name in enumerate(result["true_endmember"].values)]
    write_csv(endmembers_path, rows)
    unmixing_overview(result, figure_path, order=order)
    return metrics
