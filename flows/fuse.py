"""Stage ``fuse@<scene>``: a scene with a companion image (``fuse.companions``) sharpened to the companion's
resolution by every configured method, scored (no-reference QNR, Wald's reduced-resolution protocol, and against
a finer reference when the scene has one)."""

from __future__ import annotations

from prefect import flow

from flows._params import main, scene_config
from spectraflow.collection import SceneLayout
from spectraflow.config import FuseConfig
from tasks.fuse import fuse_scene, fusion_figure
from tasks.ingest import ingest_file


@flow(name="fuse", flow_run_name="fuse {scene}")
def fuse(scene: str) -> str:
    layout = SceneLayout(scene)
    config = scene_config(FuseConfig, "fuse", scene)
    ingest_file(config.companion_ingest(f"{scene}-companion"))
    store = fuse_scene(config, layout.metrics("fuse"))
    fusion_figure(store, config, layout.plot("fusion.png"))
    return store


if __name__ == "__main__":
    main(fuse)
