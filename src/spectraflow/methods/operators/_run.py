"""The operator stages' work as plain functions: write the data stores, train and evaluate on them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_operator_data", "train_operator_stores", "store_name"]


def store_name(split: str, size: int) -> str:
    """``train_16.zarr``, ``val_16.zarr``, ``test_16.zarr``, ``test_32.zarr``: the stores of
    ``write_operator_data``."""
    return f"{split}_{size}.zarr"


def write_operator_data(out: str | os.PathLike[str], equation: str, train: int, test: int, size: int,
                        test_sizes: Sequence[int] = (), seed: int = 0,
                        parameters: Mapping[str, Any] | None = None) -> list[Path]:
    """Generate the train, validation and test sets (and one test set per extra resolution) into field stores
    under ``out``; each draws its own seeded samples (the validation set picks the epoch, so no test set ever
    chose anything)."""
    from ...io import fields_dataset, write_fields_store
    from ...synth import operator_data

    out = Path(out)
    plan = [("train", size, train, seed), ("val", size, test, seed + 1), ("test", size, test, seed + 2)]
    plan += [("test", extra, test, seed + 2 + i) for i, extra in enumerate(test_sizes, start=1)]
    written = []
    for split, grid, count, draw in plan:
        inputs, outputs, attrs = operator_data(equation, count, grid, draw, **dict(parameters or {}))
        written.append(write_fields_store(fields_dataset(inputs, outputs, {**attrs, "split": split}),
                                          out / store_name(split, grid)))
    return written


def train_operator_stores(data: str | os.PathLike[str], checkpoint: str | os.PathLike[str], model: Any, *,
                          train: Any = None, batch_size: int = 16, loss: str = "h1", sobolev_order: float = 2.0,
                          symmetries: tuple[str, ...] | list[str] = (),
                          curves: str | os.PathLike[str] | None = None,
                          resume: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train on ``data``'s train store, pick the epoch on its validation store, then evaluate on every test
    store (the training resolution's, and zero-shot the others). Returns ``(metrics, evaluation)``: relative
    L2/H1 per resolution, training time and device; the test inputs, targets and predictions at the training
    resolution."""
    from ...errors import InputNotFoundError
    from ...io import open_fields_store
    from ._training import evaluate_operator, train_operator

    data = Path(data)
    train_stores = sorted(data.glob("train_*.zarr"))
    if len(train_stores) != 1:
        raise InputNotFoundError(f"{data}: expected one train_<size>.zarr store (the operator_data stage writes "
                                 f"it), found {[p.name for p in train_stores]}")
    size = int(train_stores[0].stem.split("_")[1])
    train_set = open_fields_store(train_stores[0])
    if not (data / store_name("val", size)).exists():
        raise InputNotFoundError(f"{data}: no {store_name('val', size)} to pick the epoch on (the operator_data "
                                 "stage writes it)")
    val_set = open_fields_store(data / store_name("val", size))
    test_stores = {int(p.stem.split("_")[1]): p for p in data.glob("test_*.zarr")}
    tests = {n: open_fields_store(p) for n, p in sorted(test_stores.items())}
    network, history = train_operator(model, (train_set["input"].values, train_set["output"].values),
                                      (val_set["input"].values, val_set["output"].values), checkpoint,
                                      train=train, batch_size=batch_size, loss=loss,
                                      sobolev_order=sobolev_order, symmetries=symmetries,
                                      curves=curves, resume=resume)
    metrics: dict[str, Any] = {"model": network.name, "equation": train_set.attrs.get("equation"),
                               "train_size": size, "best_epoch": history.best_epoch,
                               "train_seconds": history.train_seconds, "device": history.device,
                               "threads": history.threads, "parameters": sum(p.numel() for p in network.parameters())}
    evaluation: dict[str, Any] = {}
    for n, test_set in tests.items():
        scores = evaluate_operator(network, test_set["input"].values, test_set["output"].values)
        metrics[f"test_{n}"] = {"rel_l2": scores["rel_l2"], "rel_h1": scores["rel_h1"]}
        if n == size:
            evaluation = {"inputs": test_set["input"].values, "target": test_set["output"].values,
                          "prediction": np.asarray(scores["prediction"])}
    return metrics, evaluation
