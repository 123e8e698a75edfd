"""The shared training loop: it learns, checkpoints what it learnt, stops early, resumes bit-identically."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from spectraflow.errors import ConfigError, FormatError, InputNotFoundError
from spectraflow.train import (
    TrainConfig,
    checkpoint_complete,
    fit,
    read_checkpoint,
    read_training_state,
    save_checkpoint,
)

META = {"family": "operator", "name": "linear", "config": {"n": 6}}


def _problem(seed: int) -> tuple[np.ndarray, Any, Any]:
    """A linear map to recover from noisy samples; batches drawn from the loop's generator."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=(6, 3)).astype(np.float32)
    x_val = rng.normal(size=(64, 6)).astype(np.float32)

    def train(generator: np.random.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for _ in range(8):
            x = generator.normal(size=(16, 6)).astype(np.float32)
            yield torch.from_numpy(x), torch.from_numpy(x @ truth + 0.01 * generator.normal(size=(16, 3))
                                                        .astype(np.float32))

    def val() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        yield torch.from_numpy(x_val), torch.from_numpy(x_val @ truth)

    return truth, train, val


def _model() -> torch.nn.Module:
    torch.manual_seed(1)
    return torch.nn.Linear(6, 3, bias=False)


def test_fit_learns_and_checkpoints_the_best_weights(tmp_path: Path) -> None:
    truth, train, val = _problem(0)
    model = _model()
    config = TrainConfig(epochs=25, lr=0.05, schedule="constant", seed=3)
    history = fit(model, train, val, torch.nn.functional.mse_loss, config, meta=META,
                  checkpoint=tmp_path / "ckpt", curves=tmp_path / "curves.csv", progress=False,
                  scores=lambda p, t: {"max_error": float((p - t).abs().max())})
    np.testing.assert_allclose(model.weight.detach().numpy().T, truth, atol=0.02)
    assert history.best_val_loss == min(r["val_loss"] for r in history.rows) < 1e-3
    meta, weights = read_checkpoint(tmp_path / "ckpt", family="operator")
    assert meta["name"] == "linear" and meta["config"] == {"n": 6} and meta["epoch"] == history.best_epoch
    assert meta["train"]["lr"] == 0.05 and meta["metrics"]["val_loss"] == pytest.approx(history.best_val_loss)
    torch.testing.assert_close(weights["weight"], model.weight.detach())  # the model holds the best weights
    with open(tmp_path / "curves.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 25 and set(rows[0]) == {"epoch", "train_loss", "val_loss", "val_max_error", "lr"}
    assert sorted(history.seconds) == list(range(25)) and history.train_seconds > 0  # timings kept apart
    assert float(rows[-1]["val_loss"]) < 0.01 * float(rows[0]["val_loss"])


def test_early_stopping_when_validation_stops_improving(tmp_path: Path) -> None:
    _, train, _ = _problem(1)
    rng = np.random.default_rng(9)
    x, y = (torch.from_numpy(rng.normal(size=(32, n)).astype(np.float32)) for n in (6, 3))  # unlearnable
    history = fit(_model(), train, lambda: iter([(x, y)]), torch.nn.functional.mse_loss,
                  TrainConfig(epochs=50, lr=0.05, patience=3), meta=META, checkpoint=tmp_path / "run", progress=False)
    assert history.stopped_early and len(history.rows) == history.best_epoch + 4 < 50
    assert checkpoint_complete(tmp_path / "run")  # an early stop is the run's end
    state = read_training_state(tmp_path / "run")
    assert state is not None and state["epoch"] == history.rows[-1]["epoch"]


class _Killed(Exception):
    pass


def test_resumed_run_is_identical_to_an_uninterrupted_one(tmp_path: Path) -> None:
    _, train, val = _problem(2)
    config = TrainConfig(epochs=6, lr=0.02, seed=5)
    full = _model()
    whole = fit(full, train, val, torch.nn.functional.mse_loss, config, meta=META, checkpoint=tmp_path / "full",
                progress=False)
    epochs = {"started": 0}

    def dies_in_epoch_4(generator: np.random.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epochs["started"] += 1
        if epochs["started"] == 4:
            raise _Killed
        yield from train(generator)

    with pytest.raises(_Killed):
        fit(_model(), dies_in_epoch_4, val, torch.nn.functional.mse_loss, config, meta=META,
            checkpoint=tmp_path / "run", progress=False)
    state = read_training_state(tmp_path / "run")
    assert state is not None and state["epoch"] == 2  # three epochs survived the kill
    assert read_checkpoint(tmp_path / "run")[0]["complete"] is False and not checkpoint_complete(tmp_path / "run")
    assert checkpoint_complete(tmp_path / "full") and not checkpoint_complete(tmp_path / "absent")
    resumed = _model()
    history = fit(resumed, train, val, torch.nn.functional.mse_loss, config, meta=META, checkpoint=tmp_path / "run",
                  resume=True, progress=False)
    torch.testing.assert_close(resumed.weight, full.weight, rtol=0, atol=0)  # bit-identical
    assert checkpoint_complete(tmp_path / "run")
    assert [r["val_loss"] for r in history.rows] == [r["val_loss"] for r in whole.rows]
    # only an interrupted run of the same training continues; a finished one, other settings or another model
    # train afresh (a changed parameter must never continue a stale run)
    nine = TrainConfig(epochs=9, lr=0.02, seed=5)
    cases = [(config, META, None, 6), (nine, META, nine, 6), (TrainConfig(epochs=9, lr=0.01, seed=5), META, nine, 9),
             (nine, {**META, "config": {"n": 7}}, nine, 9)]
    for resume_config, resume_meta, interrupted, epochs_run in cases:
        if interrupted is not None:  # leave an interrupted run (3 whole epochs) in the checkpoint
            epochs["started"] = 0
            with pytest.raises(_Killed):
                fit(_model(), dies_in_epoch_4, val, torch.nn.functional.mse_loss, interrupted, meta=META,
                    checkpoint=tmp_path / "run", progress=False)
        counter: list[int] = []
        fit(_model(), _counting(train, counter), val, torch.nn.functional.mse_loss, resume_config,
            meta=resume_meta, checkpoint=tmp_path / "run", resume=True, progress=False)
        assert len(counter) == epochs_run, (resume_config, resume_meta)


def _counting(batches: Any, counter: list[int]) -> Any:
    def counted(generator: np.random.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        counter.append(1)
        yield from batches(generator)

    return counted


def test_checkpoints_refuse_pickles_and_wrong_models(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "ok", {"w": torch.ones(2)}, META)
    with pytest.raises(FormatError, match="family"):
        read_checkpoint(tmp_path / "ok", family="denoise")
    with pytest.raises(InputNotFoundError, match="no checkpoint"):
        read_checkpoint(tmp_path / "missing")
    (tmp_path / "ok" / "model.pt").unlink()
    torch.save({"w": torch.ones(2), "evil": Path("x")}, tmp_path / "ok" / "model.pt")  # needs unpickling
    with pytest.raises(FormatError, match="weights_only"):
        read_checkpoint(tmp_path / "ok")
    (tmp_path / "ok" / "model.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(FormatError, match="format"):
        read_checkpoint(tmp_path / "ok")


@pytest.mark.parametrize(("key", "value"), [("epochs", 0), ("lr", 0.0), ("schedule", "step"), ("patience", 0),
                                            ("precision", "fp8"), ("grad_clip", -1.0), ("threads", 0)])
def test_train_config_names_the_bad_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        TrainConfig(**{key: value})  # type: ignore[arg-type]


def test_a_non_finite_loss_stops_training_and_names_the_epoch() -> None:
    _, train, val = _problem(3)

    def poisoned(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mse_loss(prediction, target) * float("nan")

    with pytest.raises(FloatingPointError, match="epoch 0"):
        fit(_model(), train, val, poisoned, TrainConfig(epochs=3), meta=META, progress=False)
