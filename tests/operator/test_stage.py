"""The operator stages' functions: seeded data stores in, a trained model evaluated at every resolution out."""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from spectraflow.errors import ConfigError, InputNotFoundError
from spectraflow.io import open_fields_store, write_fields_store
from spectraflow.methods.operators import load_operator, train_operator_stores, write_operator_data
from spectraflow.report import operator_overview
from spectraflow.synth import operator_data
from spectraflow.train import TrainConfig


def test_data_then_training_and_zero_shot(tmp_path: Path) -> None:
    stores = write_operator_data(tmp_path / "data", "darcy", train=96, test=16, size=16, test_sizes=[24], seed=2)
    assert [p.name for p in stores] == ["train_16.zarr", "val_16.zarr", "test_16.zarr", "test_24.zarr"]
    train = open_fields_store(stores[0])
    a, u, attrs = operator_data("darcy", 96, 16, 2)
    np.testing.assert_array_equal(train["input"].values, a)  # the stored data is the seeded solver's
    assert attrs["equation"] == train.attrs["equation"] == "darcy" and train.attrs["split"] == "train"
    val, test = (open_fields_store(p)["input"].values for p in stores[1:3])
    assert not np.array_equal(val, test)  # the samples that pick the epoch are not the ones scored
    assert open_fields_store(stores[3])["input"].shape == (16, 1, 24, 24)
    metrics, evaluation = train_operator_stores(tmp_path / "data", tmp_path / "model", {"fno": {"modes": 4,
                                                                                                 "width": 8}},
                                                train=TrainConfig(epochs=3, lr=0.01), batch_size=16,
                                                curves=tmp_path / "curves.csv")
    assert set(metrics) >= {"test_16", "test_24", "train_seconds", "device"} and metrics["model"] == "fno"
    assert metrics["test_16"]["rel_l2"] < 0.6 and np.isfinite(metrics["test_24"]["rel_h1"])
    model = load_operator(tmp_path / "model")
    assert model.config["width"] == 8 and evaluation["prediction"].shape == (16, 1, 16, 16)
    png = operator_overview(evaluation["inputs"], evaluation["target"], evaluation["prediction"],
                            tmp_path / "op.png", title="darcy")
    assert matplotlib.image.imread(png)[..., :3].std() > 0.05


def test_other_equations_and_bad_requests(tmp_path: Path) -> None:
    x, y, attrs = operator_data("burgers", 2, 32, 0, time=0.1, dt=0.01)
    assert x.shape == y.shape == (2, 1, 32) and attrs["time"] == 0.1
    w, v, _ = operator_data("navier_stokes", 1, 16, 0, time=0.1, dt=0.05)
    assert w.shape == v.shape == (1, 1, 16, 16)
    with pytest.raises(ConfigError, match="equation"):
        operator_data("heat", 1, 8)
    with pytest.raises(InputNotFoundError, match="train_<size>"):
        train_operator_stores(tmp_path, tmp_path / "m", "fno")


@pytest.mark.parametrize(("model", "config", "bound"), [("nsm", {"modes": 6, "width": 12}, 0.2),
                                                      ("finite_volume", {}, 0.05), ("lsm", {}, 0.3)])
def test_the_stage_trains_from_the_equation_alone(tmp_path: Path, model: str, config: dict[str, int],
                                                  bound: float) -> None:
    """params.yaml can pick a model of the sine basis (nsm), of the discretised equation (finite_volume) or any
    other (lsm: its output scaled by the equation's, as no solution sets it) with the residual loss: the stage
    never reads a training or validation solution (they are zeroed here) and still scores well on the test
    store's solver solutions."""
    import xarray as xr

    parameters = {"coefficient": "smooth", "modes": 6, "refine": 2}
    stores = write_operator_data(tmp_path / "data", "darcy", train=64, test=16, size=12, seed=4,
                                 parameters=parameters)
    for store in stores[:2]:  # train and val
        fields = open_fields_store(store).load()
        shutil.rmtree(store)
        write_fields_store(fields.assign(output=xr.zeros_like(fields["output"])), store)
    metrics, _ = train_operator_stores(tmp_path / "data", tmp_path / "model", {model: config},
                                       train=TrainConfig(epochs=8, lr=5e-3), loss="darcy_residual",
                                       symmetries=["transpose", "flip_x", "flip_y"])
    assert metrics["model"] == model and metrics["test_12"]["rel_l2"] < bound
