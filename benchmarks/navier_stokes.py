"""2-D Navier–Stokes (vorticity on the unit torus, 64×64): an operator model trained on our solver's data, its
relative L2 printed beside the FNO paper's.

The setting is stated in the output, and it is smaller than the paper's: the model maps ``ω(0) ↦ ω(time)`` in
one step, from initial vorticities drawn as in the paper, with the paper's forcing. The paper's ν = 1e-5,
N = 1000 setting maps the first 10 of 20 time units to the next 10 (FNO-2D: 0.1556 relative L2). The data
cost grows with the time span (fixed ``dt``); ``--workers`` processes generate it, or one batch on CUDA. Two
baselines (the training mean, persistence) say whether a setting is worth learning at all.

Run by hand, on a GPU when there is one (the solver then steps every sample in one batch there, and the
training loop autocasts to bf16): ``python benchmarks/navier_stokes.py --n 1000 --test 200 --epochs 100``.
The CPU-sized run in ``results/navier_stokes.md``:
``python benchmarks/navier_stokes.py --n 200 --test 50 --epochs 30 --workers 2``.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from spectraflow.methods.operators import evaluate_operator, train_operator
from spectraflow.metrics import relative_h1, relative_l2
from spectraflow.synth._navier_stokes import navier_stokes_dataset
from spectraflow.train import TrainConfig

PAPER = "FNO paper, ν = 1e-5, N = 1000, 10 steps ↦ next 10 (T = 20): FNO-2D 0.1556"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="training samples (the last tenth picks the epoch)")
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--viscosity", type=float, default=1e-3)
    parser.add_argument("--time", type=float, default=10.0)
    parser.add_argument("--dt", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--modes", type=int, default=12)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="solver processes without CUDA")
    args = parser.parse_args()
    start = time.perf_counter()
    solver = {"device": "cuda"} if torch.cuda.is_available() else {"workers": args.workers}
    settings = {"viscosity": args.viscosity, "time": args.time, "steps": 1, "dt": args.dt, **solver}
    w0, trajectory = navier_stokes_dataset(args.n + args.test, args.size, seed=0, **settings)
    data_seconds = time.perf_counter() - start
    inputs, outputs = w0[:, None], trajectory
    fit, test = slice(0, args.n * 9 // 10), slice(args.n, None)
    held_out = slice(args.n * 9 // 10, args.n)
    start = time.perf_counter()
    model, _ = train_operator({"fno": {"modes": args.modes, "width": args.width}},
                              (inputs[fit], outputs[fit]), (inputs[held_out], outputs[held_out]),
                              train=TrainConfig(epochs=args.epochs, lr=5e-3), batch_size=20, loss="l2",
                              progress=False)  # no augmentation: a reflection flips ω's sign but not the forcing's
    seconds = time.perf_counter() - start
    scores = evaluate_operator(model, inputs[test], outputs[test])
    target = torch.from_numpy(outputs[test])
    baselines = {"the training outputs' mean": torch.from_numpy(outputs[fit].mean(0, keepdims=True)).expand_as(target),
                 "persistence, ω(time) = ω(0)": torch.from_numpy(inputs[test])}
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    print(f"## Navier–Stokes {args.size}×{args.size}: ω(0) ↦ ω({args.time:g}), ν = {args.viscosity:g}, "
          f"train {args.n}, test {args.test}; data {data_seconds:.0f} s "
          f"{'in one batch on CUDA' if 'device' in solver else f'with {args.workers} processes'}; {device}")
    print("| model | parameters | epochs | train s | s/epoch | test rel L2 | test rel H1 |")
    print("|---|---|---|---|---|---|---|")
    print(f"| spectraflow fno (modes {args.modes}, width {args.width}) | "
          f"{sum(p.numel() for p in model.parameters())} | {args.epochs} | {seconds:.1f} | "
          f"{seconds / args.epochs:.2f} | {scores['rel_l2']:.4f} | {scores['rel_h1']:.4f} |")
    for name, prediction in baselines.items():  # what a model must beat for the setting to mean anything
        print(f"| baseline: {name} | 0 | — | — | — | {float(relative_l2(prediction, target)):.4f} | "
              f"{float(relative_h1(prediction, target)):.4f} |")
    print(f"\nFor reference ({PAPER}); a different, harder setting than this one.")


if __name__ == "__main__":
    from _results import recorded

    with recorded("navier_stokes"):
        main()
