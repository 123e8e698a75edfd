"""Stage ``configure``: one small file per stage of each scene (``data/config/<scene>/<stage>.json``) holding
everything that decides what that stage writes besides its data — its parameters as the scene sees them
(:func:`spectraflow.collection.stage_view`) and the digest of the code it runs — so that a per-scene stage
depends on that file instead of ``params.yaml`` and a dozen code paths.

Why: ``dvc status`` and a no-op ``dvc repro`` check every dependency of every stage, and DVC parses
``params.yaml`` again for each stage that declares parameters (about 35 ms for a 50-scene file) and hashes each
code directory again for each stage: at 50 scenes × 5 stages that was most of a 31 s no-op ``dvc repro``. Here
the file is parsed and the code hashed once; a change reruns this stage (a second), and then only the stages
whose file changed: a new scene's, or every scene's stage whose section or code changed.

A per-scene stage reads its parameters from its file, and refuses it when ``params.yaml`` says otherwise (the
file is stale: run ``dvc repro``, which runs this stage first).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow

from flows._params import PARAMS, main
from spectraflow._atomic import atomic_output
from spectraflow.collection import SceneLayout, scene_stages, stage_view
from spectraflow.config import load_params
from spectraflow.io import tree_sha256

CONFIG_DIR = Path("data/config")
#: The code every per-scene stage runs (besides its own ``flows/<stage>.py``)
SHARED_CODE = ("src/spectraflow/collection.py", "src/spectraflow/config.py", "src/spectraflow/report/figures.py",
               "src/spectraflow/timings.py", "flows/_params.py", "tasks/metrics.py")
_UNMIX = ("src/spectraflow/methods/unmixers", "src/spectraflow/blocks.py", "src/spectraflow/io/_store.py",
          "src/spectraflow/metrics", "src/spectraflow/preprocess", "src/spectraflow/cube.py", "tasks/unmix.py")
#: The code of each per-scene stage beyond :data:`SHARED_CODE`: a change to it reruns that stage of every scene
STAGE_CODE: dict[str, tuple[str, ...]] = {
    "ingest": ("src/spectraflow/io", "src/spectraflow/_guard.py", "src/spectraflow/_atomic.py",
               "src/spectraflow/cube.py", "src/spectraflow/compute.py", "tasks/ingest.py"),
    "preprocess": ("src/spectraflow/preprocess", "src/spectraflow/io/_store.py", "tasks/preprocess.py"),
    "denoise": ("src/spectraflow/nn/_qrnn.py", "src/spectraflow/train", "src/spectraflow/methods/denoisers",
                "src/spectraflow/preprocess/_noise.py", "src/spectraflow/preprocess/_stats.py",
                "src/spectraflow/blocks.py", "src/spectraflow/io/_store.py", "src/spectraflow/metrics",
                "src/spectraflow/synth/_noise.py", "src/spectraflow/cube.py", "tasks/denoise.py"),
    "unmix": _UNMIX,
    "anomaly": ("src/spectraflow/methods/anomaly", "src/spectraflow/io/_store.py", "src/spectraflow/metrics",
                "src/spectraflow/preprocess", "src/spectraflow/cube.py", "tasks/anomaly.py"),
    "fuse": ("src/spectraflow/methods/fusion", "src/spectraflow/io", "src/spectraflow/_guard.py",
             "src/spectraflow/_atomic.py", "src/spectraflow/metrics", "src/spectraflow/preprocess",
             "src/spectraflow/cube.py", "tasks/fuse.py", "tasks/ingest.py"),
    "train_unmix": (*_UNMIX, "src/spectraflow/train", "tasks/train.py"),
}


def stage_code(stage: str) -> tuple[str, ...]:
    """The code paths ``stage`` depends on, sorted."""
    return tuple(sorted({*SHARED_CODE, *STAGE_CODE[stage], f"flows/{stage}.py"}))


def configuration(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each per-scene stage's file (its path under the workspace) and what it holds."""
    digests: dict[str, str] = {}
    files = {}
    for stage, scene in scene_stages(params):
        code = {path: digests.setdefault(path, tree_sha256(path)) for path in stage_code(stage)}
        files[SceneLayout(scene).config(stage)] = {"params": stage_view(params, stage, scene), "code": code}
    return files


@flow(name="configure")
def configure() -> int:
    """Write every per-scene stage's file under ``data/config`` (beside, then renamed over the old directory)."""
    files = configuration(load_params(PARAMS))
    with atomic_output(CONFIG_DIR, kind="config") as tmp:
        tmp.mkdir()
        for path, content in files.items():
            target = tmp / Path(path).relative_to(CONFIG_DIR)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(files)


if __name__ == "__main__":
    main(configure)
