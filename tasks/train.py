"""Tasks of the training stages."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact

from spectraflow.config import TrainDenoiseConfig
from tasks.metrics import record_metrics


@task(name="train-denoiser")
def train_denoiser(config: TrainDenoiseConfig, metrics_path: str, curves_path: str) -> str:
    """Train the learned denoiser on ``config.input``'s patches; checkpoint to ``config.out``, curves to CSV.

    A run killed part-way continues from its last whole epoch when rerun with the same data and settings
    (the stage's output is ``persist``-ent in dvc.yaml, so DVC leaves the checkpoint in place)."""
    from spectraflow.methods.denoisers import train_denoiser

    train, data = config.settings()
    history = train_denoiser(config.input, config.out, model=config.model, mode=config.mode,
                             network=config.network, train=train, data=data, noise=config.noise,
                             subspace=config.subspace, curves=curves_path, resume=True)
    metrics = {"best_epoch": history.best_epoch, "epochs": len(history.rows), **history.best,
               "train_seconds": history.train_seconds, "device": history.device, "precision": history.precision,
               "threads": history.threads}
    metrics.pop("epoch")
    record_metrics(metrics_path, metrics)
    create_table_artifact(key="curves-train-denoise", table=history.timed_rows(),
                          description=f"{config.model} ({config.mode}) training on {config.input} "
                                      f"({history.device}, {history.precision})")
    return config.out


@task(name="training-figure")
def training_figure(curves_path: str, path: str, title: str) -> str:
    """Loss and validation curves per epoch, the PNG dvc.yaml lists under plots."""
    from spectraflow.report import training_curves

    return str(training_curves(curves_path, path, title=title))
