"""Train an operator model with the shared loop, and evaluate it (relative L2 and H1)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...train import History, TrainConfig
from ._base import OperatorModel

__all__ = ["train_operator", "refine_operator", "evaluate_operator", "load_operator", "LOSSES"]

LOSSES = ("l2", "h1", "sobolev", "darcy_residual")
RESIDUALS = ("darcy_residual",)  # losses of the equation alone: no solution data
#: Symmetries applied to input and output together. Of the grid (2-D): ``transpose``, ``flip_x``, ``flip_y``. Of a
#: periodic problem without forcing (1-D or 2-D): ``shift``, a translation by a random whole number of cells.
#: Of 1-D Burgers on a periodic grid: ``odd_reflection``, u(x) ↦ −u(−x). Of 2-D Navier–Stokes in vorticity form on
#: the unit torus with the FNO paper's forcing ``0.1 (sin 2π(x+y) + cos 2π(x+y))`` (spectraflow's solver's
#: default), which has none of the grid's flips: ``ns_shift`` ω(x + a, y − a), a random whole number of cells (the
#: forcing is constant along x + y = c); ``ns_half_turn`` ω(¼ − x, −y) (a rotation by π about a point where the
#: forcing is symmetric); ``ns_reflection`` −ω(y, x + ½) (vorticity changes sign under a reflection, and so does
#: the forcing under the half-period shift). The tests check them against the solvers.
SYMMETRIES = {"transpose": 2, "flip_x": 2, "flip_y": 2, "shift": 0, "odd_reflection": 1, "ns_shift": 2,
              "ns_half_turn": 2, "ns_reflection": 2}  # each with the grid dimension it needs (0: any)
TRANSLATIONS = ("shift", "ns_shift")  # by a random number of cells


def _symmetry(field: Any, symmetry: str, shift: tuple[int, ...] = (0,)) -> Any:
    """``field`` ``(batch, channel, [y,] x)`` under one of :data:`SYMMETRIES`; ``shift``: cells per grid axis, for
    ``shift`` (all of them) and ``ns_shift`` (the last)."""
    import torch

    n = field.shape[-1]
    index = torch.arange(n)
    if symmetry == "transpose":
        return field.transpose(-1, -2)
    if symmetry in ("flip_x", "flip_y"):
        return field.flip(-1 if symmetry == "flip_x" else -2)
    if symmetry == "shift":
        return torch.roll(field, shift, dims=tuple(range(-len(shift), 0)))
    if symmetry == "odd_reflection":
        return -field[..., (-index) % n]
    if symmetry == "ns_shift":
        return torch.roll(field, (shift[-1], -shift[-1]), dims=(-2, -1))
    if symmetry == "ns_half_turn":
        return field[..., (-index) % n, :][..., (n // 4 - index) % n]
    return -torch.roll(field.transpose(-1, -2), -(n // 2), dims=-1)  # ns_reflection


def _augment(inputs: Any, outputs: Any, symmetries: tuple[str, ...], rng: np.random.Generator) -> tuple[Any, Any]:
    """Each symmetry applied to the whole batch with probability ½ (2-D: y is dim −2, x is dim −1)."""
    for symmetry in symmetries:
        if rng.random() < 0.5:
            # drawn only for the translations, so that the other symmetries' batches are what they were before them
            shift = tuple(int(rng.integers(0, n)) for n in inputs.shape[2:]) if symmetry in TRANSLATIONS else (0,)
            inputs, outputs = _symmetry(inputs, symmetry, shift), _symmetry(outputs, symmetry, shift)
    return inputs, outputs


def _loss(name: str, sobolev_order: float) -> Any:
    from ...metrics import relative_h1, relative_l2, relative_sobolev
    from ._sine import darcy_residual

    if name not in LOSSES:
        raise ConfigError(f"train_operator: loss={name!r}; expected one of {LOSSES}")
    if name == "sobolev":
        if isinstance(sobolev_order, bool) or not isinstance(sobolev_order, int | float) or sobolev_order < 0:
            raise ConfigError(f"train_operator: sobolev_order={sobolev_order!r}; expected a number ≥ 0 (the s of H^s)")
        return lambda prediction, target: relative_sobolev(prediction, target, float(sobolev_order))
    return {"l2": relative_l2, "h1": relative_h1, "darcy_residual": darcy_residual}[name]


def _scores(prediction: Any, target: Any) -> dict[str, float]:
    from ...metrics import relative_h1, relative_l2

    return {"rel_l2": float(relative_l2(prediction, target)), "rel_h1": float(relative_h1(prediction, target))}


def train_operator(model: str | Mapping[str, Any] | OperatorModel, train_data: tuple[np.ndarray, np.ndarray | None],
                   val_data: tuple[np.ndarray, np.ndarray | None], checkpoint: str | os.PathLike[str] | None = None,
                   *, train: TrainConfig | None = None, batch_size: int = 16, loss: str = "h1",
                   sobolev_order: float = 2.0, symmetries: tuple[str, ...] | list[str] = (),
                   curves: str | os.PathLike[str] | None = None, resume: bool = False,
                   progress: bool = True) -> tuple[Any, History]:
    """Train the operator ``model`` (a name, ``{name: {config}}``, or an untrained :class:`OperatorModel` — a
    model from elsewhere trained under the same rules) on ``(inputs, outputs)`` arrays
    ``(sample, channel, *grid)``; the validation pair picks the best epoch. Returns ``(model, history)``.

    ``loss``: ``l2``, ``h1`` (relative errors), ``sobolev`` (the spectral H^``sobolev_order`` error), or
    ``darcy_residual`` — the equation's residual (see :mod:`._sine`), for which no solution data are needed:
    the outputs may be ``None`` and the validation loss that picks the epoch is the residual too.

    ``symmetries`` (:data:`SYMMETRIES`) are symmetries of the problem that augment the training batches — only
    those the equation, its boundary conditions, its forcing and the grid really have (Darcy on a grid that
    includes both boundaries has the grid's three; the neuraloperator Darcy files only ``transpose``; forced
    Navier–Stokes the ``ns_`` ones).
    """
    import torch

    from .. import build

    train = train or TrainConfig()
    inputs, outputs = _tensors(train_data, loss)
    torch.manual_seed(train.seed)  # the initial weights are part of the run
    network = (model if isinstance(model, OperatorModel)
               else build("operator", dict(model) if isinstance(model, Mapping) else model, "operator.model"))
    network.fit_normalizer(inputs, None if loss in RESIDUALS else outputs)
    history = _fit(network, (inputs, outputs), _tensors(val_data, loss), checkpoint, train=train,
                   batch_size=batch_size, loss=loss, sobolev_order=sobolev_order, symmetries=symmetries,
                   curves=curves, resume=resume, progress=progress)
    return network.cpu(), history


def refine_operator(network: Any, train_data: tuple[np.ndarray, np.ndarray],
                    val_data: tuple[np.ndarray, np.ndarray], checkpoint: str | os.PathLike[str] | None = None, *,
                    train: TrainConfig | None = None, batch_size: int = 16, loss: str = "sobolev",
                    sobolev_order: float = 2.0, symmetries: tuple[str, ...] | list[str] = (),
                    progress: bool = True) -> tuple[Any, History]:
    """Spectral refinement [1]_ of a trained ``network``: fine-tune its spectral layers (every parameter of a
    model without them: :meth:`OperatorModel.refinable_parameters`) with the spectral H^``sobolev_order`` loss
    on ``train_data``, typically at a finer grid than it was trained on; the normaliser is kept. Returns the
    refined network (a copy) and the fine-tuning's history. Another ``loss`` gives the same fine-tuning
    without the spectral loss (the control that tells what the loss itself brings).

    References
    ----------
    .. [1] S. Cao, F. Brarda, R. Li and Y. Xi, "Spectral-Refiner: accurate fine-tuning of spatiotemporal Fourier
       neural operator for turbulent flows," ICLR 2025.
    """
    import copy

    train = train or TrainConfig(lr=1e-3)
    refined = copy.deepcopy(network)
    tuned = {id(p) for p in refined.refinable_parameters()}
    for parameter in refined.parameters():
        parameter.requires_grad_(id(parameter) in tuned)
    try:
        history = _fit(refined, _tensors(train_data, loss), _tensors(val_data, loss), checkpoint,
                       train=train, batch_size=batch_size, loss=loss, sobolev_order=sobolev_order,
                       symmetries=symmetries, curves=None, resume=False, progress=progress)
    finally:
        for parameter in refined.parameters():
            parameter.requires_grad_(True)
    return refined.cpu(), history


def _tensors(data: tuple[np.ndarray, np.ndarray | None], loss: str) -> tuple[Any, Any]:
    """``(inputs, targets)`` as float32 tensors; a residual loss's targets are the inputs (the coefficient the
    residual needs), and its outputs may be absent."""
    import torch

    inputs, outputs = data
    if outputs is None and loss not in RESIDUALS:
        raise ConfigError(f"train_operator: loss={loss!r} learns from solutions, and the data have none "
                          f"(train without solution data with one of {RESIDUALS})")
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    if loss in RESIDUALS:
        return x, x
    return x, torch.from_numpy(np.ascontiguousarray(outputs, dtype=np.float32))


def _fit(network: Any, train_data: tuple[Any, Any], val_data: tuple[Any, Any],
         checkpoint: str | os.PathLike[str] | None, *, train: TrainConfig, batch_size: int, loss: str,
         sobolev_order: float, symmetries: tuple[str, ...] | list[str], curves: str | os.PathLike[str] | None,
         resume: bool, progress: bool) -> History:
    """The shared loop over ``network`` with batches of ``train_data`` (tensors), the epoch picked on
    ``val_data``."""
    from ...train import data_fingerprint, fit

    if batch_size < 1:
        raise ConfigError(f"train_operator: batch_size={batch_size}; expected a positive integer")
    loss_fn = _loss(loss, sobolev_order)
    symmetries = tuple(symmetries)
    inputs, outputs = train_data
    val_inputs, val_outputs = val_data
    dim = inputs.ndim - 2
    wrong = [s for s in symmetries if SYMMETRIES.get(s, -1) not in (0, dim)]
    if wrong:
        raise ConfigError(f"train_operator: symmetries={list(symmetries)}; {wrong} are not symmetries of a {dim}-D "
                          f"problem here (expected some of {[s for s, d in SYMMETRIES.items() if d in (0, dim)]})")
    square = dim == 1 or inputs.shape[-1] == inputs.shape[-2]
    if (set(symmetries) & {"transpose", "ns_shift", "ns_half_turn", "ns_reflection"} and not square
            or any(s.startswith("ns_") for s in symmetries) and inputs.shape[-1] % 4):
        raise ConfigError(f"train_operator: symmetries={list(symmetries)} on a {'×'.join(map(str, inputs.shape[2:]))} "
                          "grid; expected a square grid (for transpose and the ns_ ones), whose side is a multiple "
                          "of 4 (for the ns_ ones)")

    def batches(rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
        import torch

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
                     **({"sobolev_order": sobolev_order} if loss == "sobolev" else {}),
                     "fingerprint": data_fingerprint(inputs, outputs, val_inputs, val_outputs)}}
    return fit(network, batches, validation, loss_fn, train, meta=meta,
               checkpoint=Path(checkpoint) if checkpoint is not None else None, curves=curves,
               scores=None if loss in RESIDUALS else _scores, resume=resume, progress=progress)


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
