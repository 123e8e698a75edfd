"""Train an operator model with the shared loop, and evaluate it (relative L2 and H1)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...train import History, TrainConfig

__all__ = ["train_operator", "evaluate_operator", "load_operator", "LOSSES"]

LOSSES = ("l2", "h1")
SYMMETRIES = ("transpose", "flip_x", "flip_y")  # of the problem, applied to input and output together


def _augment(inputs: Any, outputs: Any, symmetries: tuple[str, ...], rng: np.random.Generator) -> tuple[Any, Any]:
    """Each symmetry applied to the whole batch with probability ½ (2-D: y is dim −2, x is dim −1)."""
    for symmetry in symmetries:
        if rng.random() < 0.5:
            if symmetry == "transpose":
                inputs, outputs = inputs.transpose(-1, -2), outputs.transpose(-1, -2)
            else:
                axis = -1 if symmetry == "flip_x" else -2
                inputs, outputs = inputs.flip(axis), outputs.flip(axis)
    return inputs, outputs


def _loss(name: str) -> Any:
    from ...metrics import relative_h1, relative_l2

    if name not in LOSSES:
        raise ConfigError(f"train_operator: loss={name!r}; expected one of {LOSSES}")
    return relative_h1 if name == "h1" else relative_l2


def _scores(prediction: Any, target: Any) -> dict[str, float]:
    from ...metrics import relative_h1, relative_l2

    return {"rel_l2": float(relative_l2(prediction, target)), "rel_h1": float(relative_h1(prediction, target))}


def train_operator(model: str | Mapping[str, Any], train_data: tuple[np.ndarray, np.ndarray],
                   val_data: tuple[np.ndarray, np.ndarray], checkpoint: str | os.PathLike[str] | None = None, *,
                   train: TrainConfig | None = None, batch_size: int = 16, loss: str = "h1",
                   symmetries: tuple[str, ...] | list[str] = (), curves: str | os.PathLike[str] | None = None,
                   resume: bool = False, progress: bool = True) -> tuple[Any, History]:
    """Train the operator ``model`` (a name or ``{name: {config}}``) on ``(inputs, outputs)`` arrays
    ``(sample, channel, *grid)``; the validation pair picks the best epoch. Returns ``(model, history)``.

    ``symmetries`` (``transpose``, ``flip_x``, ``flip_y``) are symmetries of the problem that augment the
    training batches — only those the equation, its boundary conditions and the grid really have (Darcy on a
    grid that includes both boundaries has all three; the neuraloperator Darcy files only ``transpose``).
    """
    import torch

    from ...train import data_fingerprint, fit
    from .. import build

    train = train or TrainConfig()
    if batch_size < 1:
        raise ConfigError(f"train_operator: batch_size={batch_size}; expected a positive integer")
    loss_fn = _loss(loss)
    symmetries = tuple(symmetries)
    unknown = sorted(set(symmetries) - set(SYMMETRIES))
    if unknown or (symmetries and train_data[0].ndim != 4):
        raise ConfigError(f"train_operator: symmetries={list(symmetries)}; expected a subset of {SYMMETRIES} "
                          "on 2-D fields")
    inputs, outputs = (torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in train_data)
    val_inputs, val_outputs = (torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in val_data)
    torch.manual_seed(train.seed)  # the initial weights are part of the run
    network = build("operator", dict(model) if isinstance(model, Mapping) else model, "operator.model")
    network.fit_normalizer(inputs, outputs)

    def batches(rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
        order = torch.from_numpy(rng.permutation(len(inputs)))
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield _augment(inputs[index], outputs[index], symmetries, rng)

    def validation() -> Iterator[tuple[Any, Any]]:
        for start in range(0, len(val_inputs), 64):
            yield val_inputs[start:start + 64], val_outputs[start:start + 64]

    meta = {"family": "operator", "name": network.name, "config": network.config,
            "data": {"train": len(inputs), "val": len(val_inputs), "grid": list(inputs.shape[2:]),
                     "batch_size": batch_size, "loss": loss, "symmetries": list(symmetries),
                     "fingerprint": data_fingerprint(inputs, outputs, val_inputs, val_outputs)}}
    history = fit(network, batches, validation, loss_fn, train, meta=meta,
                  checkpoint=Path(checkpoint) if checkpoint is not None else None, curves=curves, scores=_scores,
                  resume=resume, progress=progress)
    return network.cpu(), history


def load_operator(checkpoint: str | os.PathLike[str]) -> Any:
    """The trained operator model of ``checkpoint`` (rebuilt from its JSON config, weights loaded safely)."""
    from ...train import read_checkpoint
    from .. import get

    meta, weights = read_checkpoint(checkpoint, family="operator")
    model = get("operator", meta["name"])(**meta["config"])
    model.load_state_dict(weights)
    return model.eval()


def evaluate_operator(model: Any, inputs: np.ndarray, outputs: np.ndarray, batch: int = 64) -> dict[str, Any]:
    """Relative L2 and H1 (mean over samples) and the predictions of ``model`` on ``inputs``."""
    import torch

    model = model.eval()
    device = next(model.parameters()).device
    predictions = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch):
            chunk = torch.from_numpy(np.ascontiguousarray(inputs[start:start + batch], dtype=np.float32))
            predictions.append(model(chunk.to(device)).float().cpu())
    prediction = torch.cat(predictions)
    target = torch.from_numpy(np.ascontiguousarray(outputs, dtype=np.float32))
    return {**_scores(prediction, target), "prediction": prediction.numpy()}
