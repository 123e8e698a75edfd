"""Stage ``denoise``: the configured denoiser on the preprocessed scene, scored when noise was added to it."""

from __future__ import annotations

from prefect import flow

from flows._params import section
from spectraflow.config import DenoiseConfig, from_mapping
from tasks.denoise import denoise_scene, denoising_figure


@flow(name="denoise")
def denoise(metrics_path: str = "data/metrics/denoise.json", figure_path: str = "data/plots/denoising.png") -> str:
    config = from_mapping(DenoiseConfig, section("denoise"), "denoise")
    store = denoise_scene(config, metrics_path)
    denoising_figure(store, config.input, figure_path)
    return store


if __name__ == "__main__":
    denoise()
