"""The landing zone: each new file becomes a scene of the collection, and the pipeline runs its stages.

A file that reads is moved into ``landing.acquisitions/<scene>/``, tracked with DVC and declared under
``collection.scenes`` (with the ``landing.scene`` keys); then the pipeline flow runs, so the new scene's
``ingest``, ``preprocess``, ``denoise`` and ``unmix`` stages and the report run (the other scenes' are
unchanged). One file never blocks another: a file that cannot be read is moved to ``rejected/`` with its
message, one still arriving waits for a later run, one whose read fails with an I/O error is retried by its
task and, if it still fails, is left for the next run. An acquisition accepted by a run that stopped before
declaring or tracking it is declared and tracked by the next run. A table artifact ``landing-zone`` lists
each file's outcome.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_table_artifact

from flows._params import PARAMS, main, section
from flows.pipeline import pipeline
from spectraflow.collection import scene_entries
from spectraflow.config import LandingConfig, from_mapping, load_params
from spectraflow.io import resolve_inside
from spectraflow.landing import acquisitions, landed_files
from tasks.landing import add_to_collection, land


@flow(name="landing-zone")
def landing_zone(trigger_pipeline: bool = True) -> list[str]:
    """Land every file of the zone; returns the scenes added to the collection."""
    config = from_mapping(LandingConfig, section("landing"), "landing")
    for place, what in ((config.directory, "landing.directory"), (config.acquisitions, "landing.acquisitions")):
        resolve_inside(place, "data", what)
    directory = Path(config.directory)
    directory.mkdir(parents=True, exist_ok=True)
    declared = set(scene_entries(load_params(PARAMS)))
    collection = set(declared)  # and the scenes this run accepts
    rows = []
    for path in landed_files(directory):
        state = land(path, config, sorted(collection), return_state=True)
        if state.is_completed():
            outcome = state.result()
            rows.append({"file": path.name, "status": outcome.status, "scene": outcome.scene or "",
                         "message": outcome.message})
            if outcome.scene:
                collection.add(outcome.scene)
        else:  # an I/O error that outlived the retries: the file stays, the next run tries again
            rows.append({"file": path.name, "status": "failed", "scene": "", "message": str(state.message)})
    root = Path(config.acquisitions)
    untracked = {scene: record for scene, record in acquisitions(root).items()
                 if not (root / f"{scene}.dvc").exists()}
    new = {scene: {"source_dir": f"{config.acquisitions}/{scene}", "source": str(record["files"][0]),
                   **config.scene} for scene, record in untracked.items() if scene not in declared}
    if untracked:
        add_to_collection(new, [root / scene for scene in untracked])
    if rows:
        create_table_artifact(key="landing-zone", table=rows, description=f"Files in {directory}")
    if new and trigger_pipeline:
        pipeline()
    return sorted(new)


if __name__ == "__main__":
    main(landing_zone)
