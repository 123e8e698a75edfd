"""Stage ``train_unmix@<scene>``: the unmixing network fitted to one scene of ``train_unmix.scenes`` — blind, on the
cube, chain and endmember count of the scene's unmix stage, started from that stage's method's result (unless
``train_unmix.network.start`` names another) — and scored as that stage scores (against the ground truth when the
scene has one: the scores of a blind method on the scene it unmixes, as ``archetypal``'s are)."""

from __future__ import annotations

from dataclasses import replace

from prefect import flow

from flows._params import main, scene_view
from spectraflow.collection import SceneLayout
from spectraflow.config import TrainUnmixConfig, UnmixConfig, from_mapping
from spectraflow.errors import ConfigError
from tasks.train import training_figure
from tasks.unmix import evaluate_unmixing, unmix_scene_store


@flow(name="train-unmix", flow_run_name="train_unmix {scene}")
def train_unmix(scene: str) -> str:
    layout = SceneLayout(scene)
    view = scene_view("train_unmix", scene)  # its own section and the scene's unmix section
    config = from_mapping(TrainUnmixConfig, view["train_unmix"], f"train_unmix of train_unmix@{scene}")
    if scene not in config.scenes:
        raise ConfigError(f"params.yaml [train_unmix.scenes]: {scene!r} is not listed ({list(config.scenes)})")
    unmix = from_mapping(UnmixConfig, view["unmix"], f"unmix of train_unmix@{scene}")
    # the network starts from the unmix stage's own result (its method, at the network's seed), unless told otherwise
    method = unmix.blind if unmix.blind is not None else unmix.endmembers
    curves = layout.plot("train_unmix.csv")
    network = {"start": method if isinstance(method, str) else next(iter(method)), **config.network,
               "checkpoint": layout.model("unmix_network"), "curves": curves}
    unmix = replace(unmix, out=layout.store("unmixing_network"), blind={"autoencoder": network})
    store = unmix_scene_store(unmix)
    evaluate_unmixing(store, layout.metrics("train_unmix"), layout.plot("unmixing_network.png"),
                      layout.plot("unmix_network_endmembers.csv"))
    training_figure(curves, layout.plot("train_unmix.png"), f"unmixing network fitted to scene {scene}")
    return store


if __name__ == "__main__":
    main(train_unmix)
