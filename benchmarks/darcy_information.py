"""What bounds the error on the neuraloperator Darcy files (16×16): the model, or what a 16×16 sample says?

``finite_volume`` reaches 0.061 relative L2 on ``../shared/data/operator/darcy`` (``benchmarks/operators.py``)
with its training error at its test error, so more epochs, more capacity or averaging seeds do not help. This
benchmark asks whether the missing accuracy is in the data:

1. It measures two statistics of the files: how often neighbouring nodes lie on different sides of an
   interface (the coefficient's roughness at this grid), and the mean of ``u`` where the permeability is high
   over its mean where it is low (the contrast, as the solution feels it).
2. It generates data with our solver on 121×121 nodes, the random field carrying all 121 modes, subsampled to
   16×16 as the files are: once with the FNO paper's parameters (3/12, τ = 3), once with parameters chosen to
   match both statistics of the files (``--low``, ``--high``, ``--tau``).
3. It trains ``finite_volume`` on each, as ``benchmarks/operators.py`` trains it on the files (20 epochs,
   H1 loss, batch 16), on 1 000 samples and on ``--more`` samples; and once more on 1 000 samples with a second
   input channel, the share of each node's 9×9 fine-grid cell that is permeable: the sub-grid geometry a
   16×16 point sample cannot show. Every model is scored on 500 fresh samples.

If more samples leave the error where it is and the sub-grid channel removes most of it, the error is the
information the 16×16 input lacks, not the model's.

Run by hand: ``python benchmarks/darcy_information.py [--threads 2]`` (about 10 minutes on 2 CPU threads).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.ndimage import uniform_filter

from spectraflow import datasets
from spectraflow.methods.operators import evaluate_operator, read_neuraloperator_pt, train_operator
from spectraflow.synth._darcy import darcy_dataset
from spectraflow.train import TrainConfig

SIZE, REFINE = 16, 8
FINE = (SIZE - 1) * REFINE + 1
VALIDATION, TEST = 100, 500


def interface_density(a: np.ndarray) -> float:
    """Share of neighbouring node pairs (both axes) whose permeabilities differ."""
    return float(np.mean([(a[..., 1:] != a[..., :-1]).mean(), (a[..., 1:, :] != a[..., :-1, :]).mean()]))


def contrast_response(a: np.ndarray, u: np.ndarray) -> float:
    """Mean ``u`` where the permeability is high over the mean where it is low."""
    return float(u[a == a.max()].mean() / u[a == a.min()].mean())


def generated(n: int, seed: int, **field: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(a, u, share)`` at 16×16, subsampled from 121×121 solves; ``share``: the permeable part of each node's
    fine-grid cell."""
    a, u = darcy_dataset(n, FINE, seed, **field)
    permeable = uniform_filter((a == a.max()).astype(np.float64), size=(1, REFINE + 1, REFINE + 1), mode="nearest")
    return a[:, ::REFINE, ::REFINE], u[:, ::REFINE, ::REFINE], permeable[:, ::REFINE, ::REFINE]


def fit_and_score(inputs: np.ndarray, outputs: np.ndarray, fit: int, test: int, boundary: str,
                  symmetries: list[str], threads: int) -> tuple[float, float]:
    """Train ``finite_volume`` on the first ``fit`` samples (the next 100 pick the epoch); rel L2 on the last
    ``test`` samples and on (up to 1 000 of) the training samples."""
    x, y = inputs.astype(np.float32), outputs[:, None].astype(np.float32)
    held_out = slice(fit, fit + VALIDATION)
    model, _ = train_operator({"finite_volume": {"boundary": boundary, "in_channels": x.shape[1]}},
                              (x[:fit], y[:fit]), (x[held_out], y[held_out]),
                              train=TrainConfig(epochs=20, lr=5e-3, threads=threads), batch_size=16, loss="h1",
                              symmetries=symmetries, progress=False)
    return (evaluate_operator(model, x[-test:], y[-test:])["rel_l2"],
            evaluate_operator(model, x[:min(fit, 1000)], y[:min(fit, 1000)])["rel_l2"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--low", type=float, default=1.0)
    parser.add_argument("--high", type=float, default=17.0)
    parser.add_argument("--tau", type=float, default=4.7)
    parser.add_argument("--more", type=int, default=4000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_x, train_y = read_neuraloperator_pt(datasets.shared_file("operator/darcy/darcy_train_16.pt"))[:2]
    test_x, test_y = read_neuraloperator_pt(datasets.shared_file("operator/darcy/darcy_test_16.pt"))[:2]
    files_a, files_u = np.concatenate([train_x, test_x])[:, 0], np.concatenate([train_y, test_y])[:, 0]

    start = time.perf_counter()
    paper = generated(1000 + VALIDATION + TEST, seed=11)
    matched = generated(args.more + VALIDATION + TEST, seed=12, low=args.low, high=args.high, tau=args.tau)
    seconds = time.perf_counter() - start
    print(f"## The data (generated: {FINE}×{FINE} solves subsampled to {SIZE}×{SIZE}, {seconds:.0f} s)")
    print("| data | interface density | contrast response |")
    print("|---|---|---|")
    for name, a, u in (("neuraloperator files", files_a, files_u),
                       ("ours, the FNO paper's field (3/12, τ = 3)", *paper[:2]),
                       (f"ours, matched ({args.low:g}/{args.high:g}, τ = {args.tau:g})", *matched[:2])):
        print(f"| {name} | {interface_density(a):.3f} | {contrast_response(a, u):.3f} |")

    print("\n## finite_volume, 20 epochs (H1 loss, batch 16); test: 500 fresh samples (the files: their 50)")
    print("| data | training samples | input | test rel L2 | train rel L2 |")
    print("|---|---|---|---|---|")
    # the files' own protocol, as benchmarks/operators.py runs it: their last 100 training samples pick the epoch
    test, train = fit_and_score(files_a[:, None], files_u, len(train_x) - VALIDATION, len(test_x), "half_open",
                                ["transpose"], args.threads)
    print(f"| neuraloperator files | {len(train_x) - VALIDATION} | a | {test:.4f} | {train:.4f} |", flush=True)
    every = ["transpose", "flip_x", "flip_y"]  # our grid holds both boundaries: all the square's symmetries
    runs = [("the FNO paper's field", paper, 1000, False), ("matched", matched, 1000, False),
            ("matched", matched, args.more, False), ("matched", matched, 1000, True)]
    for name, (a, u, share), fit, with_share in runs:
        inputs = np.stack([a, share], axis=1) if with_share else a[:, None]
        test, train = fit_and_score(inputs, u, fit, TEST, "inclusive", every, args.threads)
        label = "a + permeable share of the cell" if with_share else "a"
        print(f"| {name} | {fit} | {label} | {test:.4f} | {train:.4f} |", flush=True)


if __name__ == "__main__":
    from _results import recorded

    with recorded("darcy_information"):
        main()
