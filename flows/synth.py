"""Stage ``synth``: generate the built-in default collection as instruments would deliver it (ENVI), one
directory per scene under ``synth.out_dir``."""

from __future__ import annotations

from prefect import flow

from flows._params import main, section
from spectraflow.collection import check_scene_name
from spectraflow.config import SynthConfig, from_mapping
from spectraflow.errors import ConfigError
from tasks.ingest import synthesize_scene


@flow(name="synth")
def synth() -> list[str]:
    values = section("synth")
    scenes, out_dir = values.get("scenes"), values.get("out_dir", "data/raw")
    if not isinstance(scenes, dict) or not scenes:
        raise ConfigError(f"params.yaml [synth.scenes]: expected a mapping of scene names to generator settings, "
                          f"found {scenes!r}")
    configs = {check_scene_name(name): from_mapping(SynthConfig, entry, f"synth.scenes.{name}")
               for name, entry in scenes.items()}
    return [synthesize_scene(config, f"{out_dir}/{name}") for name, config in configs.items()]


if __name__ == "__main__":
    main(synth)
