"""Stage ``denoise``: the configured denoiser on the preprocessed scene, scored when noise was added to it."""

from __future__ import annotations

from prefect import flow

from flows._params import section
from spectraflow.config import DenoiseConfig, from_mapping
from tasks.denoise import denoise_scene, evaluate_denoising


@flow(name="denoise")
def denoise(metrics_path: str = "data/metrics/denoise.json", figure_path: str = "data/plots/denoising.png",
            bands_path: str = "data/plots/denoise_bands.csv") -> str:
    config = from_mapping(DenoiseConfig, section("denoise"), "denoise")
    store = denoise_scene(config, metrics_path)
    evaluate_denoising(store, config.input, figure_path, bands_path)
    return store


if __name__ == "__main__":
    denoise()
