"""Stage ``denoise@<scene>``: the configured denoisers on the preprocessed scene, scored when noise was added."""

from __future__ import annotations

from prefect import flow

from flows._params import main, scene_config
from spectraflow.collection import SceneLayout
from spectraflow.config import DenoiseConfig
from tasks.denoise import denoise_scene, evaluate_denoising


@flow(name="denoise", flow_run_name="denoise {scene}")
def denoise(scene: str) -> str:
    layout = SceneLayout(scene)
    config = scene_config(DenoiseConfig, "denoise", scene)
    store = denoise_scene(config, layout.metrics("denoise"))
    evaluate_denoising(store, config.input, layout.plot("denoising.png"), layout.plot("denoise_bands.csv"))
    return store


if __name__ == "__main__":
    main(denoise)
