"""Operator learning on Darcy flow, side by side with neuraloperator 2.0's FNO: one selection rule for every model,
three seeds, every number scored on samples that chose nothing.

The rule (all models, the peer included, unless a row says otherwise): our training loop, AdamW at ``lr`` with a
cosine schedule for ``--epochs`` epochs, batch 16, the problem's symmetries as augmentation, the epoch kept is the
best on a validation set drawn apart from the test sets. The peer also runs its own recipe (its lr 8e-3, batch
32, no augmentation, last epoch), in a row of its own. Mean ± standard deviation over seeds 0, 1, 2 (the seed of
the initial weights and of the batches; the data are fixed).

1. ``files``: ``../shared/data/operator/darcy`` (train 1000: the last 100 validate; test 50; 16×16).
2. ``zero_shot``: our solver, piecewise-constant coefficient; trained at 16×16 (1000 samples, 100 validate), tested
   on 100 fresh samples at 16, 32 and 64. Every grid samples the same random field (its lowest 16 cosine modes,
   at the grid's own nodes) and is subsampled from a solve on ~128 nodes per side, so only the grid changes.
   With it, spectral refinement: each trained model fine-tuned on 200 samples at 32×32 for ``--refine-epochs``
   epochs (its spectral layers; every layer of a model without them), with the spectral H² loss
   (Spectral-Refiner) and, as the control that isolates the loss, with the H1 loss it trained with.
3. ``nsm``: smooth coefficients (the spectral methods' setting), at 16 and at 32: ``nsm`` trained on the
   equation's residual alone (no solution anywhere in its training or epoch choice) beside ``fno`` trained on
   solutions; both tested against the solver's solutions.

4. ``equations`` (a run of its own: ``--sections equations``, recorded in ``results/operators_equations.md``):
   Burgers from the shared file (u₀ ↦ u(T) and ↦ the trajectory) and Navier–Stokes 64×64 from our solver
   (ω(0) ↦ ω(10)), every model that applies, the peer too; ``lsm`` gets as many epochs as fit in ``fno``'s
   training time; on Navier–Stokes each model also ± spectral refinement beside its control, and each FNO (the
   peer's and ours) with both draws of its spectral weights (``glorot``, the peer's; ``product``, our default),
   with the validation score that chooses between them.

5. ``symmetries`` (a run of its own, recorded in ``results/operators_symmetries.md``): the peer and our ``fno`` on
   Burgers and Navier–Stokes as in 4 (on Navier–Stokes each with the draw of its spectral weights that 4's
   validation column chose), without augmentation and with the equation's own symmetries (periodic shift and
   u(x) ↦ −u(−x) for Burgers; the three of the forced vorticity equation for Navier–Stokes).

6. ``residual`` (a run of its own, ``results/operators_residual.md``): our ``fno`` with and without ``residual`` on
   both Burgers maps.

7. ``init`` (a run of its own, ``results/operators_init.md``): our ``fno`` with both draws of its spectral weights
   on the Darcy files, under the rule of 1.

8. ``ns_refine`` (a run of its own, ``results/operators_ns_refine.md``): Spectral-Refiner's procedure on
   Navier–Stokes as 2 does it on Darcy: each FNO trained at 64×64, refined at 128×128 beside its control, tested
   at 128×128 on fresh samples of the same random field.

9. ``lsm_budget`` (a run of its own, ``results/operators_lsm_budget.md``): ``lsm`` on Navier–Stokes given 1, 2 and 4
   times our ``fno``'s training time.

10. ``lsm_patch`` (a run of its own, ``results/operators_lsm_patch.md``): ``lsm`` with ``patch=2`` against our
    ``fno`` at equal training time on Navier–Stokes, each with the learning rate its validation column chooses.

Run by hand: ``bash benchmarks/peers.sh && python benchmarks/operators.py`` (sections 1–3), then
``python benchmarks/operators.py --sections equations``, and likewise ``symmetries``, ``residual``, ``init``,
``ns_refine``, ``lsm_budget``, ``lsm_patch``.
(Not ``operator.py``: in ``benchmarks/`` that name would shadow the standard library's ``operator`` for every
script.)
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.append(str(Path(__file__).resolve().parents[1] / ".peers"))

from spectraflow import datasets  # noqa: E402
from spectraflow.methods.operators import (  # noqa: E402
    OperatorModel,
    evaluate_operator,
    read_neuraloperator_pt,
    refine_operator,
    train_operator,
)
from spectraflow.metrics import relative_h1, relative_l2  # noqa: E402
from spectraflow.nn import spectral_std  # noqa: E402
from spectraflow.synth._darcy import darcy_dataset  # noqa: E402
from spectraflow.train import TrainConfig  # noqa: E402

SEEDS = (0, 1, 2)
OURS = {"fno": {"fno": {"modes": 8, "width": 32}}, "transform_once": {"transform_once": {"modes": 8, "width": 32}},
        "deeponet": {"deeponet": {"sensors": 16}}, "finite_volume": {"finite_volume": {"boundary": "half_open"}},
        "lsm": {"lsm": {"width": 32}}}
# the files' grid holds the near boundary and stops one spacing short of the far one; our solver's grid holds both
SOLVER_GRID = {**OURS, "finite_volume": {"finite_volume": {"boundary": "inclusive"}},
               "nsm": {"nsm": {"modes": 12, "width": 24}}}
FIELD_MODES = 16  # the random field's cosine modes at every grid
REFINE = {16: 8, 32: 4, 64: 2}  # solved on 121, 125 and 127 nodes per side, then subsampled
Pair = tuple[np.ndarray, np.ndarray]


class NeuralopFNO(OperatorModel):
    """neuraloperator's FNO (on Darcy as the issue measured it: modes 16, width 32) behind our normaliser, so that
    it trains in our loop under the same rule as ours."""

    name = "neuraloperator_fno"

    def __init__(self, in_channels: int = 1, out_channels: int = 1, dim: int = 2, modes: int = 16,
                 width: int = 32, residual: bool = False, init: str = "glorot") -> None:
        """``init``: its spectral weights as it draws them (``glorot``) or as our ``fno`` does by default
        (``product``, :func:`spectraflow.nn.spectral_std`)."""
        from neuralop.models import FNO

        super().__init__(in_channels, out_channels, dim, residual=residual, modes=modes, width=width)
        self.peer = FNO(n_modes=(modes,) * dim, hidden_channels=width, in_channels=in_channels,
                        out_channels=out_channels)
        if init == "product":
            with torch.no_grad():
                for conv in self.peer.fno_blocks.convs:  # complex: std √2 × that of each part
                    conv.weight.tensor.normal_(0.0, math.sqrt(2) * spectral_std("product", width, width))
        elif init != "glorot":
            raise ValueError(f"init={init!r}; expected glorot or product")

    def core(self, x: torch.Tensor) -> torch.Tensor:
        return self.peer(x)

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:  # its models add a '_metadata' dict: weights only
        return {k: v for k, v in super().state_dict(*args, **kwargs).items() if isinstance(v, torch.Tensor)}


def _peer_recipe(train: Pair, test: Pair, epochs: int, seed: int) -> dict[str, float]:
    """neuraloperator's own Darcy recipe: AdamW 8e-3, cosine, H1 loss, batch 32, no augmentation, last epoch."""
    from neuralop.losses import H1Loss

    torch.manual_seed(seed)
    model = NeuralopFNO().peer
    x, y = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    mean, std = y.mean(), y.std()  # neuraloperator's Darcy loader encodes the output (unit Gaussian)
    optimizer = torch.optim.AdamW(model.parameters(), lr=8e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss = H1Loss(d=2)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for index in torch.randperm(len(x), generator=generator).split(32):
            optimizer.zero_grad()
            loss(model(x[index]), (y[index] - mean) / std).backward()
            optimizer.step()
        schedule.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        prediction = model(torch.from_numpy(test[0])) * std + mean
    return {"parameters": sum(p.numel() for p in model.parameters()), "seconds": seconds,
            "rel_l2": float(relative_l2(prediction, test[1])), "rel_h1": float(relative_h1(prediction, test[1]))}


def _cell(values: list[float], digits: int = 4) -> str:
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


class Runs:
    """Per-model lists of per-seed results, printed as mean ± std."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, float]]] = {}

    def add(self, model: str, result: dict[str, float]) -> None:
        self.rows.setdefault(model, []).append(result)

    def column(self, model: str, key: str) -> list[float]:
        return [r[key] for r in self.rows[model]]


def _train(spec: Any, train: Pair | tuple[np.ndarray, None], val: Pair | tuple[np.ndarray, None], args: Any,
           seed: int, *, loss: str = "h1", symmetries: tuple[str, ...] = ()) -> tuple[Any, float]:
    start = time.perf_counter()
    model, _ = train_operator(spec() if callable(spec) else spec, train, val,
                              train=TrainConfig(epochs=args.epochs, lr=args.lr, threads=args.threads, seed=seed),
                              batch_size=16, loss=loss, symmetries=symmetries, progress=False)
    return model, time.perf_counter() - start  # includes the per-epoch validation


def _scores(model: Any, test: Pair) -> dict[str, float]:
    result = evaluate_operator(model, *test)
    return {"rel_l2": result["rel_l2"], "rel_h1": result["rel_h1"]}


def _darcy_files() -> tuple[Pair, Pair, Pair]:
    """The neuraloperator Darcy files (16×16): train 900, validate 100 (the training file's last), test 50."""
    train = read_neuraloperator_pt(datasets.shared_file("operator/darcy/darcy_train_16.pt"))[:2]
    test = read_neuraloperator_pt(datasets.shared_file("operator/darcy/darcy_test_16.pt"))[:2]
    return (train[0][:-100], train[1][:-100]), (train[0][-100:], train[1][-100:]), test


def files(args: Any) -> None:
    fit, val, test = _darcy_files()
    print(f"## Darcy 16×16, the neuraloperator files: train {len(fit[0])}, validate 100 (picks the epoch), test "
          f"{len(test[0])}; {args.epochs} epochs, {args.threads} CPU threads; mean ± std over seeds {SEEDS}")
    print("| model | rule | parameters | train s | test rel L2 | test rel H1 |")
    print("|---|---|---|---|---|---|")
    runs = Runs()
    models: dict[str, Callable[[], Any] | dict[str, Any]] = {"neuraloperator FNO": NeuralopFNO, **OURS}
    for seed in SEEDS:
        if not args.skip_peer:
            runs.add("neuraloperator FNO (its recipe)", _peer_recipe(fit, test, args.epochs, seed))
        for name, spec in models.items():
            if args.skip_peer and spec is NeuralopFNO:
                continue
            torch.manual_seed(seed)  # the peer is built here, before the loop seeds
            model, seconds = _train(spec, fit, val, args, seed, symmetries=("transpose",))
            runs.add(name, {"parameters": sum(p.numel() for p in model.parameters()), "seconds": seconds,
                            **_scores(model, test)})
    for name in runs.rows:
        rule = ("its own: lr 8e-3, batch 32, no augmentation, last epoch" if "recipe" in name
                else f"ours: lr {args.lr:g}, batch 16, transpose, best validation epoch")
        label = name if name.startswith("neuraloperator") else f"spectraflow {name}"
        print(f"| {label} | {rule} | {int(runs.column(name, 'parameters')[0])} | "
              f"{_cell(runs.column(name, 'seconds'), 1)} | {_cell(runs.column(name, 'rel_l2'))} | "
              f"{_cell(runs.column(name, 'rel_h1'))} |", flush=True)


def _solver_data(n: int, size: int, seed: int, **kwargs: Any) -> Pair:
    a, u = darcy_dataset(n, size, seed=seed, refine=REFINE[size], modes=FIELD_MODES, **kwargs)
    return a[:, None], u[:, None]


def zero_shot(args: Any) -> None:
    symmetries = ("transpose", "flip_x", "flip_y")
    train, val = _solver_data(1000, 16, 0), _solver_data(100, 16, 1)
    tests = {n: _solver_data(100, n, 10 + n) for n in REFINE}
    fine_train, fine_val = _solver_data(200, 32, 2), _solver_data(50, 32, 3)
    print(f"\n## Zero-shot resolution transfer and spectral refinement: our solver (piecewise-constant coefficient, "
          f"the same random field at every grid), trained at 16×16 (1000 samples, 100 validate), "
          f"{args.epochs} epochs; tested on 100 fresh samples per grid; mean ± std over seeds {SEEDS}")
    runs = Runs()
    for seed in SEEDS:
        for name, spec in SOLVER_GRID.items():
            model, seconds = _train(spec, train, val, args, seed, symmetries=symmetries)
            result: dict[str, float] = {"seconds": seconds}
            for n, test in tests.items():
                result.update({f"{k}_{n}": v for k, v in _scores(model, test).items()})
            result.update(_refinements(model, fine_train, fine_val, tests[32], args, seed, symmetries))
            runs.add(name, result)
    print("| model | train s | rel L2 16 | rel L2 32 | rel L2 64 | rel H1 16 | rel H1 32 | rel H1 64 |")
    print("|---|---|---|---|---|---|---|---|")
    for name in runs.rows:
        print(f"| spectraflow {name} | {_cell(runs.column(name, 'seconds'), 1)} | "
              + " | ".join(_cell(runs.column(name, f"rel_l2_{n}")) for n in REFINE) + " | "
              + " | ".join(_cell(runs.column(name, f"rel_h1_{n}"), 3) for n in REFINE) + " |")
    print(f"\n### Spectral refinement at 32×32 (200 samples at 32, {args.refine_epochs} epochs at lr {args.lr / 5:g}; "
          "the spectral layers tuned, all layers of a model without them), tested on the 32×32 test set")
    _refinement_table(runs, 32, digits=3)


def _refinements(model: Any, train: Pair, val: Pair, test: Pair, args: Any, seed: int,
                 symmetries: tuple[str, ...] = ()) -> dict[str, float]:
    """Spectral refinement of a trained ``model`` on ``train`` (its spectral H² loss: ``sobolev_*``) and, as the
    control that isolates the loss, the same fine-tuning with the H1 loss it trained with (``h1_*``): their
    scores on ``test`` and seconds."""
    result: dict[str, float] = {}
    for loss in ("sobolev", "h1"):
        settings = TrainConfig(epochs=args.refine_epochs, lr=args.lr / 5, threads=args.threads, seed=seed)
        start = time.perf_counter()
        refined, _ = refine_operator(model, train, val, train=settings, loss=loss, sobolev_order=2.0,
                                     symmetries=symmetries, progress=False)
        result[f"{loss}_seconds"] = time.perf_counter() - start
        result.update({f"{loss}_{k}": v for k, v in _scores(refined, test).items()})
    return result


def _refinement_table(runs: Runs, grid: int, digits: int = 4) -> None:
    """Each model's rel H1 at ``grid`` not refined (``rel_h1_<grid>``), fine-tuned with H1 and refined with the
    spectral H² loss (:func:`_refinements`), and the refinement's change against both."""
    print(f"| model | rel H1 {grid}, not refined | fine-tuned with H1 (control) | refined with spectral H² | "
          f"H² vs not refined | H² vs control | rel L2 {grid} refined | refine s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in runs.rows:
        base, control, refined = (np.array(runs.column(name, k))
                                  for k in (f"rel_h1_{grid}", "h1_rel_h1", "sobolev_rel_h1"))
        print(f"| {name} | {_cell(list(base), digits)} | {_cell(list(control), digits)} | "
              f"{_cell(list(refined), digits)} | {100 * np.mean(refined / base - 1):+.0f} % | "
              f"{100 * np.mean(refined / control - 1):+.0f} % | {_cell(runs.column(name, 'sobolev_rel_l2'))} | "
              f"{_cell(runs.column(name, 'sobolev_seconds'), 1)} |", flush=True)


def nsm(args: Any) -> None:
    print(f"\n## Learning from the equation alone: smooth coefficient; `nsm` trained on the residual only (no "
          f"solution in training or in choosing the epoch) beside `fno` trained on solutions; 1000 training "
          f"samples at 16×16 and 500 at 32×32, 100 validate, 100 test; {args.epochs} epochs; mean ± std over "
          f"seeds {SEEDS}")
    print("| grid | model | data it learns from | train s | test rel L2 | test rel H1 | rel L2 / fno's |")
    print("|---|---|---|---|---|---|---|")
    for size, n_train in ((16, 1000), (32, 500)):  # fewer at 32: four times the cost per sample
        train = _solver_data(n_train, size, 0, coefficient="smooth")
        val = _solver_data(100, size, 1, coefficient="smooth")
        test = _solver_data(100, size, 2, coefficient="smooth")
        runs = Runs()
        for seed in SEEDS:
            for name, spec, loss, data in (
                    ("fno", SOLVER_GRID["fno"], "h1", (train, val)),
                    ("nsm", SOLVER_GRID["nsm"], "darcy_residual", ((train[0], None), (val[0], None)))):
                model, seconds = _train(spec, data[0], data[1], args, seed, loss=loss,
                                        symmetries=("transpose", "flip_x", "flip_y"))
                runs.add(name, {"seconds": seconds, **_scores(model, test)})
        for name, source in (("fno", "solutions (h1 loss)"), ("nsm", "the residual only")):
            ratio = np.array(runs.column(name, "rel_l2")) / np.array(runs.column("fno", "rel_l2"))
            print(f"| {size}×{size} | {name} | {source} | {_cell(runs.column(name, 'seconds'), 1)} | "
                  f"{_cell(runs.column(name, 'rel_l2'))} | {_cell(runs.column(name, 'rel_h1'))} | "
                  f"{np.mean(ratio):.2f} |", flush=True)


def _equation_rows(title: str, models: dict[str, Any], train: Pair, val: Pair, test: Pair, args: Any, *,
                   refine: bool, budget: str | None = None, shares: dict[str, float] | None = None,
                   symmetries: tuple[str, ...] = (), lrs: dict[str, float] | None = None) -> Runs:
    """One equation's rows: each model under the rule, 3 seeds; with ``refine`` each also ± spectral refinement
    (at the training grid) beside the control. ``budget`` names a model whose training seconds set the epochs of
    the models in ``shares``: as many as fit in that many times its time. ``symmetries`` augment every model's
    training batches. ``lrs``: a learning rate for a model other than ``--lr``. Returns the runs."""
    shares, lrs = shares or {}, lrs or {}
    print(f"\n### {title}")
    print("| model | parameters | epochs | train s | validation rel L2 | test rel L2 | test rel H1 |"
          + (" rel H1 refined (spectral H²) | rel H1 control (H1) |" if refine else ""))
    print("|---|---|---|---|---|---|---|" + ("---|---|" if refine else ""))
    runs = Runs()
    for seed in SEEDS:
        seconds_per_epoch: dict[str, float] = {}
        for name, spec in models.items():
            epochs = args.epochs
            if name in shares:  # as many epochs as fit in its share of the budget model's time
                probe = copy_args(args, epochs=1)
                _, one = _train(spec, train, val, probe, seed)
                epochs = max(1, round(shares[name] * seconds_per_epoch[budget] * args.epochs / one))
            torch.manual_seed(seed)
            model, seconds = _train(spec, train, val, copy_args(args, epochs=epochs, lr=lrs.get(name, args.lr)), seed,
                                    symmetries=symmetries)
            seconds_per_epoch[name] = seconds / epochs
            result = {"parameters": sum(p.numel() for p in model.parameters()), "seconds": seconds,
                      "epochs": epochs, "val_rel_l2": _scores(model, val)["rel_l2"], **_scores(model, test)}
            if refine:
                result.update(_refinements(model, train, val, test, args, seed))
            runs.add(name, result)
    for name in runs.rows:
        label = name if name.startswith("neuraloperator") else f"spectraflow {name}"
        epochs = runs.column(name, "epochs")
        print(f"| {label} | {int(runs.column(name, 'parameters')[0])} | "
              f"{int(epochs[0]) if len(set(epochs)) == 1 else '/'.join(str(int(e)) for e in epochs)} | "
              f"{_cell(runs.column(name, 'seconds'), 1)} | {_cell(runs.column(name, 'val_rel_l2'))} | "
              f"{_cell(runs.column(name, 'rel_l2'))} | "
              f"{_cell(runs.column(name, 'rel_h1'))} |"
              + (f" {_cell(runs.column(name, 'sobolev_rel_h1'))} | {_cell(runs.column(name, 'h1_rel_h1'))} |"
                 if refine else ""), flush=True)
    return runs


def copy_args(args: Any, **changes: Any) -> Any:
    return argparse.Namespace(**{**vars(args), **changes})


def _burgers(target: str) -> tuple[Pair, Pair, Pair]:
    """The neuraloperator Burgers file (16 points) as train 600, validate 100, test 100; ``target``: ``final`` or
    ``trajectory``."""
    x, y, _ = read_neuraloperator_pt(datasets.shared_file("operator/burgers/burgers_train_16.pt"), target=target)
    return (x[:600], y[:600]), (x[600:700], y[600:700]), (x[700:], y[700:])


def _navier_stokes(args: Any, size: int = 64, counts: tuple[int, int, int] | None = None,
                   seed: int = 0) -> tuple[list[Pair], float]:
    """Train, validate and test pairs ω(0) ↦ ω(10) at ``size``² from our solver (``counts``: train ``--ns-train``,
    validate 100, test 100 unless given), and the seconds they took. The initial vorticity is the same random field
    at every grid (only the grid changes)."""
    from spectraflow.synth._navier_stokes import navier_stokes_dataset

    start = time.perf_counter()
    n_train, n_val, n_test = counts or (args.ns_train, 100, 100)
    w0, trajectory = navier_stokes_dataset(n_train + n_val + n_test, size, seed=seed, viscosity=1e-3, time=10.0,
                                           steps=1, dt=1e-2, workers=args.threads)
    seconds = time.perf_counter() - start
    split = np.cumsum([0, n_train, n_val, n_test])
    return [(w0[a:b, None], trajectory[a:b]) for a, b in zip(split[:-1], split[1:], strict=True)], seconds


ONE_D = {"neuraloperator FNO": lambda c: (lambda: NeuralopFNO(1, c, 1, modes=8)),  # built once seeded
         "fno": lambda c: {"fno": {"dim": 1, "out_channels": c, "modes": 8, "width": 32}},
         "transform_once": lambda c: {"transform_once": {"dim": 1, "out_channels": c, "modes": 8, "width": 32}},
         "deeponet": lambda c: {"deeponet": {"dim": 1, "out_channels": c, "sensors": 16}}}
NS_MODELS = {"neuraloperator FNO": lambda: NeuralopFNO(modes=12),
             "neuraloperator FNO, product init": lambda: NeuralopFNO(modes=12, init="product"),
             "fno": {"fno": {"modes": 12, "width": 32}}, "fno, glorot init": {"fno": {"modes": 12, "width": 32,
                                                                                      "init": "glorot"}},
             "transform_once": {"transform_once": {"modes": 12, "width": 32}},
             "deeponet": {"deeponet": {"sensors": 16}}, "lsm": {"lsm": {"width": 32, "padding": "circular"}}}
BURGERS_SYMMETRIES = ("shift", "odd_reflection")
NS_SYMMETRIES = ("ns_shift", "ns_half_turn", "ns_reflection")


def _burgers_title(target: str) -> str:
    output = "u(T)" if target == "final" else "the 17-step trajectory"
    return f"Burgers, the neuraloperator file (ν = 0.01, 16 points): u₀ ↦ {output}; train 600, validate 100, test 100"


def _navier_stokes_title(args: Any, seconds: float) -> str:
    return (f"Navier–Stokes 64×64 (our solver, ν = 1e-3, ω(0) ↦ ω(10), dt 1e-2: within 4e-7 of dt 1e-3): train "
            f"{args.ns_train}, validate 100, test 100; data {seconds:.0f} s")


def equations(args: Any) -> None:
    print(f"\n## Three equations, one rule: our loop, {args.epochs} epochs, batch 16, best validation epoch, "
          f"h1 loss, no augmentation (neither equation's symmetries are the grid's plain flips); mean ± std over "
          f"seeds {SEEDS}. Refinement: {args.refine_epochs} more epochs at lr {args.lr / 5:g} of the spectral "
          "layers, on the training grid, with the spectral H² loss (refined) or the H1 loss (control)")
    for target in ("final", "trajectory"):
        train, val, test = _burgers(target)
        channels = train[1].shape[1]
        models = {name: make(channels) for name, make in ONE_D.items()}
        if target == "trajectory":  # it starts at the input: each FNO also predicting the change from it
            models["neuraloperator FNO, residual"] = partial(NeuralopFNO, 1, channels, 1, modes=8, residual=True)
            models["fno, residual"] = {"fno": {**models["fno"]["fno"], "residual": True}}
        _equation_rows(_burgers_title(target), models, train, val, test, args, refine=False)
    parts, seconds = _navier_stokes(args)
    _equation_rows(_navier_stokes_title(args, seconds) + "; lsm's epochs fill fno's training time; each FNO also "
                   "with the other's draw of its spectral weights (the peer's own is glorot, our fno's product: "
                   "spectraflow.nn.spectral_std), to be chosen by the validation column", NS_MODELS,
                   *parts, args, refine=True, budget="fno", shares={"lsm": 1.0})


#: Each FNO on Navier–Stokes with the draw of its spectral weights that its validation column chose in the equations
#: section (results/operators_equations.md): refined at a finer grid (ns_refine), augmented (symmetries)
NS_CHOSEN = ("neuraloperator FNO, product init", "fno, glorot init")


def ns_refine(args: Any) -> None:
    """Spectral-Refiner's procedure on Navier–Stokes as the zero-shot section does it on Darcy: trained at 64×64,
    then fine-tuned at 128×128 with the spectral H² loss, beside the H1 control, scored on fresh 128×128 samples."""
    parts, seconds = _navier_stokes(args)
    fine, fine_seconds = _navier_stokes(args, 128, (args.ns_fine, 50, 100), seed=1)
    print(f"\n## Spectral refinement at a finer grid on Navier–Stokes: {_navier_stokes_title(args, seconds)}; each "
          f"FNO trained at 64×64 under the rule of the equations section ({args.epochs} epochs, best validation "
          f"epoch, h1 loss), with the draw of its spectral weights that its validation column chose there; then "
          f"{args.refine_epochs} epochs at lr {args.lr / 5:g} on {args.ns_fine} fresh samples at 128×128 (50 "
          f"validate; data {fine_seconds:.0f} s) of our fno's spectral layers (every layer of the peer's: its "
          f"spectral layers are not named apart), with the spectral H² loss (refined) or the H1 loss "
          f"(control); tested on 100 fresh samples at 128×128 (64×64: its own test set); mean ± std over seeds "
          f"{SEEDS}")
    runs = Runs()
    for seed in SEEDS:
        for name in NS_CHOSEN:
            torch.manual_seed(seed)
            model, train_seconds = _train(NS_MODELS[name], parts[0], parts[1], args, seed)
            result = {"seconds": train_seconds, **{f"{k}_64": v for k, v in _scores(model, parts[2]).items()},
                      **{f"{k}_128": v for k, v in _scores(model, fine[2]).items()},
                      **_refinements(model, *fine, args, seed)}
            runs.add(name, result)
    print("| model | train s | rel L2 64 | rel H1 64 | rel L2 128 | rel H1 128 |")
    print("|---|---|---|---|---|---|")
    for name in runs.rows:
        print(f"| {name} | {_cell(runs.column(name, 'seconds'), 1)} | "
              + " | ".join(_cell(runs.column(name, f"{k}_{n}")) for n in (64, 128) for k in ("rel_l2", "rel_h1"))
              + " |")
    print()
    _refinement_table(runs, 128)


def lsm_budget(args: Any) -> None:
    """``lsm`` on Navier–Stokes given 1, 2 and 4 times the training time of our ``fno`` (its validation-chosen draw):
    whether ``lsm`` lacks time or accuracy there."""
    parts, seconds = _navier_stokes(args)
    fno, lsm = "fno, glorot init", NS_MODELS["lsm"]
    multiples = {"lsm": 1.0, "lsm, 2× fno's time": 2.0, "lsm, 4× fno's time": 4.0}
    _equation_rows(f"{_navier_stokes_title(args, seconds)}; our fno (glorot init, as its validation column chose "
                   f"in the equations section) under the rule of that section, {args.epochs} epochs; lsm given as "
                   f"many epochs as fit in 1, 2 and 4 times fno's training time (each a training of its own, the "
                   f"cosine schedule over its epochs)", {fno: NS_MODELS[fno], **{name: lsm for name in multiples}},
                   *parts, args, refine=False, budget=fno, shares=multiples)


#: the learning rates ``lsm_patch`` chooses from, for every model alike, by validation
LSM_PATCH_LRS = (5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3)


def lsm_patch(args: Any) -> None:
    """``lsm`` with its U-Net on a grid of 2 × 2 patches (``patch=2``: a quarter of the convolutions' cost, so about
    twice the epochs in the same time) against our ``fno`` at equal training time on Navier–Stokes. Both take
    their learning rate from the same grid, chosen by the mean validation rel L2 over the seeds."""
    parts, seconds = _navier_stokes(args)
    fno, lsm = "fno, glorot init", {"lsm": {**NS_MODELS["lsm"]["lsm"], "patch": 2}}
    variants = {(base, lr): spec for base, spec in ((fno, NS_MODELS[fno]), ("lsm patch 2", lsm))
                for lr in LSM_PATCH_LRS}
    models = {f"{base}, lr {lr:g}": spec for (base, lr), spec in variants.items()}
    lrs = {f"{base}, lr {lr:g}": lr for base, lr in variants}
    budget = f"{fno}, lr {args.lr:g}"
    runs = _equation_rows(f"{_navier_stokes_title(args, seconds)}; our fno (glorot init, as its validation column "
                          f"chose in the equations section), {args.epochs} epochs, and lsm with patch=2, as many "
                          f"epochs as fit in the time of fno at lr {args.lr:g}; each at learning rates "
                          f"{', '.join(f'{lr:g}' for lr in LSM_PATCH_LRS)} (the cosine schedule from there), the rest "
                          "the rule of the equations section", models, *parts, args, refine=False, budget=budget,
                          shares={name: 1.0 for name in models if name.startswith("lsm")}, lrs=lrs)
    print("\neach model at the learning rate with the lowest mean validation rel L2 over the seeds (test columns never "
          "used to choose):\n")
    print("| model | chosen lr | train s | validation rel L2 | test rel L2 | test rel H1 |")
    print("|---|---|---|---|---|---|")
    for base in (fno, "lsm patch 2"):
        names = [name for name in runs.rows if name.startswith(f"{base}, lr")]
        best = min(names, key=lambda name: float(np.mean(runs.column(name, "val_rel_l2"))))
        print(f"| {base} | {lrs[best]:g} | {_cell(runs.column(best, 'seconds'), 1)} | "
              f"{_cell(runs.column(best, 'val_rel_l2'))} | {_cell(runs.column(best, 'rel_l2'))} | "
              f"{_cell(runs.column(best, 'rel_h1'))} |")


def symmetries(args: Any) -> None:
    """The equations' own symmetries as augmentation (the solvers check them: tests/operator), for the peer and
    ours, beside the same models without."""
    print(f"\n## The equations' symmetries as augmentation, the peer and ours: our loop, {args.epochs} epochs, "
          f"batch 16, best validation epoch, h1 loss; without augmentation, then with Burgers' "
          f"{list(BURGERS_SYMMETRIES)} or Navier–Stokes' {list(NS_SYMMETRIES)} (each applied to a batch with "
          f"probability ½); mean ± std over seeds {SEEDS}")
    pair = ("neuraloperator FNO", "fno")
    for target in ("final", "trajectory"):
        train, val, test = _burgers(target)
        models = {name: ONE_D[name](train[1].shape[1]) for name in pair}
        for augment in ((), BURGERS_SYMMETRIES):
            _equation_rows(f"{_burgers_title(target)}; augmentation {list(augment) or 'none'}", models, train, val,
                           test, args, refine=False, symmetries=augment)
    parts, seconds = _navier_stokes(args)
    for augment in ((), NS_SYMMETRIES):
        _equation_rows(f"{_navier_stokes_title(args, seconds)}; each FNO with the draw of its spectral weights that "
                       f"its validation column chose in the equations section; augmentation "
                       f"{list(augment) or 'none'}", {name: NS_MODELS[name] for name in NS_CHOSEN}, *parts, args,
                       refine=False, symmetries=augment)


def residual(args: Any) -> None:
    """Our ``fno`` with and without ``residual`` on both Burgers maps: the trajectory, which starts at the input, and
    u(T), far from it."""
    print(f"\n## Predicting the change from the input (`residual`): our fno on Burgers, the rule of the equations "
          f"section (our loop, {args.epochs} epochs, batch 16, best validation epoch, h1 loss, no augmentation); "
          f"mean ± std over seeds {SEEDS}")
    for target in ("final", "trajectory"):
        train, val, test = _burgers(target)
        plain = ONE_D["fno"](train[1].shape[1])
        _equation_rows(_burgers_title(target), {"fno": plain, "fno, residual": {"fno": {**plain["fno"],
                                                                                         "residual": True}}},
                       train, val, test, args, refine=False)


def init(args: Any) -> None:
    """Our ``fno``'s spectral weights drawn ``product`` (its default) or ``glorot`` on the Darcy files, under the rule
    of the files section (the equations section has both on Navier–Stokes, and the peer with both)."""
    fno = OURS["fno"]["fno"]
    _equation_rows(f"Our fno's spectral weights drawn `product` (default) or `glorot` (spectraflow.nn.spectral_std): "
                   f"the Darcy files, train 900, validate 100, test 50; our loop, {args.epochs} epochs, batch 16, "
                   f"transpose, best validation epoch; mean ± std over seeds {SEEDS}",
                   {"fno": {"fno": fno}, "fno, glorot init": {"fno": {**fno, "init": "glorot"}}}, *_darcy_files(),
                   args, refine=False, symmetries=("transpose",))


SECTIONS = {"files": files, "zero_shot": zero_shot, "nsm": nsm, "equations": equations, "symmetries": symmetries,
            "residual": residual, "init": init, "ns_refine": ns_refine, "lsm_budget": lsm_budget,
            "lsm_patch": lsm_patch}


def _arguments() -> Any:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--refine-epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ns-train", type=int, default=200)
    parser.add_argument("--ns-fine", type=int, default=100, help="ns_refine's fine-tuning samples at 128×128")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--sections", nargs="*", default=["files", "zero_shot", "nsm"], choices=list(SECTIONS))
    return parser.parse_args()


def main(args: Any) -> None:
    torch.set_num_threads(args.threads)
    for section in args.sections:
        SECTIONS[section](args)


if __name__ == "__main__":
    from _results import recorded

    arguments = _arguments()
    # sections 4-10 are runs of their own, each in its results/operators_<section>.md
    own = {name: f"operators_{name}"
           for name in ("equations", "symmetries", "residual", "init", "ns_refine", "lsm_budget", "lsm_patch")}
    with recorded(own.get(arguments.sections[0], "operators") if len(arguments.sections) == 1 else "operators"):
        main(arguments)
