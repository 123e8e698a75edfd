"""The training loop every model family shares.

``fit`` trains a ``torch.nn.Module`` on batches a family supplies, validates every epoch, keeps the best
weights (lowest validation loss), stops early when validation stops improving, and writes as it goes: a
checkpoint directory (best weights + JSON config + resumable state, see :mod:`._checkpoint`) and the training
curves as CSV (one row per epoch, the file ``dvc plots`` reads). The device is chosen automatically (CUDA when
present); on CUDA, ``precision: auto`` trains under bf16 autocast. Epoch ``e`` draws its batches from
``numpy.random.default_rng([seed, e])`` and seeds torch with ``seed + e``, so a run resumed from its last
epoch repeats exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._atomic import check_replaceable, write_csv
from ..errors import ConfigError, SpectraflowError
from ._checkpoint import read_training_state, save_checkpoint
from ._device import select_device

__all__ = ["TrainConfig", "History", "fit", "autocast_dtype"]

_PRECISIONS = ("auto", "fp32", "bf16", "fp16")


#: learning-rate schedules: decaying to zero on a cosine over the epochs, or constant
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """How to train (the ``train`` part of a training stage's section in ``params.yaml``).

    ``epochs`` at most (``patience`` epochs without a better validation loss stop earlier; ``null`` never),
    AdamW with ``lr``/``weight_decay``, ``schedule`` ``cosine`` (over the epochs) or ``constant``, gradient
    norm clipped to ``grad_clip`` (``null``: not clipped), ``precision`` ``auto`` (bf16 autocast on CUDA, fp32
    on CPU) | ``fp32`` | ``bf16`` | ``fp16``, ``device`` ``auto`` | ``cpu`` | ``cuda[:N]``, ``threads`` for
    torch on the CPU (``null``: torch's default), ``seed`` for everything random.
    """

    epochs: int = 20
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    patience: int | None = None
    grad_clip: float | None = 1.0
    precision: str = "auto"
    device: str = "auto"
    threads: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        def fail(key: str, expected: str) -> None:
            raise ConfigError(f"train: {key}={getattr(self, key)!r}; expected {expected}")

        if not isinstance(self.epochs, int) or self.epochs < 1:
            fail("epochs", "a positive integer")
        if not self.lr > 0:
            fail("lr", "a positive learning rate")
        if self.weight_decay < 0:
            fail("weight_decay", "a non-negative weight decay")
        if self.schedule not in SCHEDULES:
            fail("schedule", " or ".join(map(repr, SCHEDULES)))
        if self.patience is not None and self.patience < 1:
            fail("patience", "a positive number of epochs, or null")
        if self.grad_clip is not None and not self.grad_clip > 0:
            fail("grad_clip", "a positive gradient norm, or null")
        if self.precision not in _PRECISIONS:
            fail("precision", f"one of {_PRECISIONS}")
        if self.threads is not None and self.threads < 1:
            fail("threads", "a positive number of CPU threads, or null")


@dataclass
class History:
    """One row per epoch (``epoch``, ``train_loss``, ``val_loss``, ``lr`` and the validation scores), the best
    epoch and its validation loss, and whether early stopping ended the run. The rows are what the checkpoint
    and the curves keep (the same on every rerun); ``seconds`` holds how long each epoch this process ran took
    (a timing, kept apart: :mod:`spectraflow.timings`)."""

    rows: list[dict[str, float]] = field(default_factory=list)
    seconds: dict[int, float] = field(default_factory=dict)
    best_epoch: int = -1
    best_val_loss: float = math.inf
    stopped_early: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    threads: int = 1

    @property
    def train_seconds(self) -> float:
        return float(sum(self.seconds.values()))

    def timed_rows(self) -> list[dict[str, float]]:
        """The rows with each epoch's ``seconds`` (where this process ran it), for a table to look at."""
        return [{**r, "seconds": self.seconds.get(int(r["epoch"]), math.nan)} for r in self.rows]

    @property
    def best(self) -> dict[str, float]:
        return next(r for r in self.rows if r["epoch"] == self.best_epoch)


def autocast_dtype(precision: str, device: Any) -> Any:
    """The autocast dtype for ``precision`` on ``device`` (``None``: full fp32)."""
    import torch

    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _evaluate(model: Any, batches: Iterable[tuple[Any, Any]], loss_fn: Callable[[Any, Any], Any],
              scores: Callable[[Any, Any], Mapping[str, float]] | None, device: Any, dtype: Any) -> dict[str, float]:
    import torch

    totals: dict[str, float] = {}
    count = 0
    model.eval()
    with torch.no_grad():
        for inputs, target in batches:
            inputs, target = inputs.to(device), target.to(device)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                prediction = model(inputs)
            prediction = prediction.float()
            n = len(inputs)
            values = {"val_loss": float(loss_fn(prediction, target))}
            if scores is not None:
                values.update({f"val_{k}": float(v) for k, v in scores(prediction, target).items()})
            for k, v in values.items():
                totals[k] = totals.get(k, 0.0) + v * n
            count += n
    if count == 0:
        raise ConfigError("training: the validation set is empty (give the split at least one sample)")
    return {k: v / count for k, v in totals.items()}


def data_fingerprint(*arrays: Any) -> str:
    """sha256 over the shapes, dtypes and bytes of the training data (NumPy arrays or CPU tensors): recorded
    in the checkpoint so that a run is continued only on the data it started on."""
    import hashlib

    digest = hashlib.sha256()
    for array in arrays:
        values = np.ascontiguousarray(array.numpy() if hasattr(array, "numpy") else array)
        digest.update(f"{values.shape}{values.dtype}".encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """``value`` as it reads back from the checkpoint's JSON."""
    return json.loads(json.dumps(value, default=str))


def _continues(checkpoint: str | os.PathLike[str], state: Mapping[str, Any], meta: Mapping[str, Any],
               config: TrainConfig) -> bool:
    """Whether ``state`` is an interrupted run of this very training (same model, data and settings) that has
    epochs left; anything else trains afresh, so a changed parameter never continues a stale run."""
    from ._checkpoint import read_checkpoint

    try:
        saved = read_checkpoint(checkpoint)[0]
    except SpectraflowError:
        return False
    same = all(saved.get(key) == _plain(value) for key, value in meta.items())
    return same and saved.get("train") == _plain(asdict(config)) and int(state["epoch"]) + 1 < config.epochs


def fit(model: Any, train_batches: Callable[[np.random.Generator], Iterable[tuple[Any, Any]]],
        val_batches: Callable[[], Iterable[tuple[Any, Any]]], loss_fn: Callable[[Any, Any], Any],
        config: TrainConfig, *, meta: dict[str, Any], checkpoint: str | os.PathLike[str] | None = None,
        curves: str | os.PathLike[str] | None = None,
        scores: Callable[[Any, Any], Mapping[str, float]] | None = None, resume: bool = False,
        progress: bool = True) -> History:
    """Train ``model`` in place; on return it holds the best weights. See the module docstring.

    ``train_batches(rng)`` yields one epoch of ``(input, target)`` tensor batches, drawing any randomness
    from ``rng``; ``val_batches()`` yields the (fixed) validation batches; ``loss_fn(prediction, target)`` is
    minimised; ``scores(prediction, target)`` adds batch-mean validation scores to the curves. ``meta`` is the
    checkpoint's ``{family, name, config}``. With ``resume`` a run continues from the ``last.pt`` of
    ``checkpoint`` when that is an interrupted run of the same training (same ``meta`` and ``config``, epochs
    left); otherwise it trains afresh.
    """
    import torch

    from .._progress import ProgressReport

    device = select_device(config.device)
    dtype = autocast_dtype(config.precision, device)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    # the same weights from the same data, seed and thread count (on the CPU, and on CUDA where torch has a
    # deterministic kernel; where it has none it warns)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(config.seed)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
                 if config.schedule == "cosine" else torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0))
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    history = History(device=str(device), precision="fp32" if dtype is None else str(dtype).removeprefix("torch."),
                      threads=torch.get_num_threads())
    best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    start = 0
    if checkpoint is not None:
        check_replaceable(checkpoint, "checkpoint")  # before any epoch
    state = read_training_state(checkpoint) if resume and checkpoint is not None else None
    if state is not None and not _continues(checkpoint, state, meta, config):  # type: ignore[arg-type]
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        best_weights = state["best_model"]
        # (checkpoints of earlier versions timed each row; timings are kept apart now)
        history.rows = [{k: v for k, v in r.items() if k != "seconds"} for r in state["rows"]]
        history.best_epoch, history.best_val_loss = int(state["best_epoch"]), float(state["best_val_loss"])
        start = int(state["epoch"]) + 1

    def patience_spent(epoch: int) -> bool:
        """Whether validation has not improved for ``patience`` epochs by the end of ``epoch``."""
        return history.best_epoch >= 0 and config.patience is not None and \
            epoch + 1 - history.best_epoch > config.patience

    with ProgressReport(f"train {meta['name']}", config.epochs, completed=start, enabled=progress,
                        interval=0.0) as bar:  # off a terminal: a line per epoch
        for epoch in range(start, config.epochs):
            if patience_spent(epoch - 1):
                history.stopped_early = True
                break
            tic = time.perf_counter()
            torch.manual_seed(config.seed + epoch)
            model.train()
            total, count = torch.zeros((), device=device), 0  # summed on the device: no sync per step
            for inputs, target in train_batches(np.random.default_rng([config.seed, epoch])):
                inputs, target = inputs.to(device), target.to(device)
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    prediction = model(inputs)
                loss = loss_fn(prediction.float(), target)
                scaler.scale(loss).backward()
                if config.grad_clip is not None:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                total += loss.detach() * len(inputs)
                count += len(inputs)
            train_loss = float(total) / max(count, 1)
            if not math.isfinite(train_loss):
                raise FloatingPointError(f"training {meta['name']}: the loss became {train_loss} in epoch {epoch}; "
                                         "lower train.lr or set train.grad_clip")
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            row = {"epoch": epoch, "train_loss": train_loss,
                   **_evaluate(model, val_batches(), loss_fn, scores, device, dtype), "lr": lr}
            history.seconds[epoch] = time.perf_counter() - tic
            history.rows.append(row)
            if row["val_loss"] < history.best_val_loss:
                history.best_epoch, history.best_val_loss = epoch, row["val_loss"]
                best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if checkpoint is not None:
                state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "best_model": best_weights, "epoch": epoch,
                         "rows": history.rows, "best_epoch": history.best_epoch,
                         "best_val_loss": history.best_val_loss}
                # complete: the run ends here (its last epoch, or patience spent), so a killed run's is not
                record = {**meta, "epoch": history.best_epoch, "metrics": history.best, "train": asdict(config),
                          "device": history.device, "precision": history.precision,
                          "complete": epoch + 1 == config.epochs or patience_spent(epoch)}
                save_checkpoint(checkpoint, best_weights, record, training_state=state)
            if curves is not None:
                write_csv(curves, history.rows)
            bar.advance(status=f"train {row['train_loss']:.4g}  val {row['val_loss']:.4g}")
    model.load_state_dict(best_weights)
    return history
