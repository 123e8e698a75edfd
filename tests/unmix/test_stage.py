"""The unmixing stage's function: a store in, a result store out, scored against the scene's ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectraflow.errors import ConfigError
from spectraflow.io import write_store
from spectraflow.methods.unmixers import build_method, unmix_store
from spectraflow.metrics import unmixing_scores
from spectraflow.synth import synthetic_scene


def test_unmix_store_writes_results_with_provenance_and_truth(tmp_path: Path) -> None:
    scene = synthetic_scene(3, height=32, width=32, endmembers=["vegetation", "soil", "kaolinite"])
    source = write_store(scene, tmp_path / "scene.zarr")
    steps = ["radiometric", {"bad_bands": {"header": True}}]
    with pytest.raises(ConfigError, match=r"scene.zarr: unmix.n_endmembers is not set\. Set the number.*HySime"):
        unmix_store(source, tmp_path / "unmix.zarr", steps=steps)  # no count, no guess: the user is asked
    assert not (tmp_path / "unmix.zarr").exists()
    dest = unmix_store(source, tmp_path / "unmix.zarr", steps=steps, n_endmembers="subspace",
                       endmembers={"nfindr": {"seed": 1}}, abundances="fcls")
    result = xr.open_zarr(dest, consolidated=False).compute()
    assert result.attrs["hysime_k"] == 3 and result.attrs["n_endmembers"] == 3  # the subspace's dimension
    assert json.loads(result.attrs["unmixing"])["endmembers"]["name"] == "nfindr"
    assert result["endmembers"].shape == (3, int(scene["good_band"].sum()))
    scores = unmixing_scores(result["endmembers"], result["abundances"], result["true_endmembers"],
                             result["true_abundances"])
    assert scores["sad_mean"] < 0.5 and scores["abundance_rmse"] < 1e-3  # noise-free, with pure pixels
    np.testing.assert_allclose(result["abundances"].values.sum(axis=-1), 1.0, atol=1e-9)


def test_wrong_regime_and_bad_parameters_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unmix.abundances.*vca"):
        build_method("vca", "abundances")
    with pytest.raises(ConfigError, match="sparsity"):
        build_method({"sunsal": {"sparsity": -1.0}}, "abundances")
    with pytest.raises(ConfigError, match="unknown key"):
        build_method({"vca": {"colour": "red"}}, "endmembers")
