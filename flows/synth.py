"""Stage ``synth``: generate the built-in default scene as an instrument would deliver it (ENVI)."""

from __future__ import annotations

from prefect import flow

from flows._params import section
from spectraflow.config import SynthConfig, from_mapping
from tasks.ingest import synthesize_scene


@flow(name="synth")
def synth() -> str:
    return synthesize_scene(from_mapping(SynthConfig, section("synth"), "synth"))


if __name__ == "__main__":
    synth()
