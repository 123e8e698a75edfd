"""Stage ``train_denoise``: the learned denoiser trained on one scene's preprocessed patches, noise added.
Its scores on that scene are named ``<method>_on_training_scene``; on every other scene they are not."""

from __future__ import annotations

from prefect import flow

from flows._params import main, section
from spectraflow.config import TrainDenoiseConfig, from_mapping
from tasks.train import train_denoiser, training_figure


@flow(name="train-denoise")
def train_denoise(metrics_path: str = "data/metrics/train_denoise.json",
                  curves_path: str = "data/plots/train_denoise.csv",
                  figure_path: str = "data/plots/train_denoise.png") -> str:
    config = from_mapping(TrainDenoiseConfig, section("train_denoise"), "train_denoise")
    checkpoint = train_denoiser(config, metrics_path, curves_path)
    training_figure(curves_path, figure_path, f"{config.model} denoiser (trained on scene {config.scene})")
    return checkpoint


if __name__ == "__main__":
    main(train_denoise)
