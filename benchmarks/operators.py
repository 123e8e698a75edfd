"""Operator learning on Darcy flow, side by side with neuraloperator 2.0's FNO, same data, same epoch budget.

1. ``../shared/data/operator/darcy`` (train 1000, test 50, 16×16): neuraloperator's FNO as the issue measured it
   (modes 16, width 32, AdamW 8e-3, cosine, H1 loss, batch 32) and ours (``fno``, ``transform_once``,
   ``deeponet``, ``finite_volume``), each trained for ``--epochs`` epochs with ``--threads`` CPU threads;
   relative L2 and H1 on the test set, training seconds and seconds per epoch, all measured in this run. Ours
   pick their best epoch on the last 100 training samples (held out from their training), never on the test set.
2. Zero-shot resolution transfer: our models trained on our Darcy solver's 16×16 data, evaluated on fresh
   samples the solver generates at 16×16, 32×32 and 64×64. Every resolution is subsampled from a solve on a
   grid of about 128 nodes per side (``refine``), so all approximate the same continuum solution operator,
   not each grid's own discretisation (which ``finite_volume`` would learn exactly).

Run by hand: ``bash benchmarks/peers.sh && python benchmarks/operators.py [--epochs 20] [--threads 2]``. (Not
``operator.py``: in ``benchmarks/`` that name would shadow the standard library's ``operator`` for every script.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.append(str(Path(__file__).resolve().parents[1] / ".peers"))

from spectraflow import datasets  # noqa: E402
from spectraflow.methods.operators import evaluate_operator, read_neuraloperator_pt, train_operator  # noqa: E402
from spectraflow.metrics import relative_h1, relative_l2  # noqa: E402
from spectraflow.synth._darcy import darcy_dataset  # noqa: E402
from spectraflow.train import TrainConfig  # noqa: E402

OURS = {"fno": {"fno": {"modes": 8, "width": 32}}, "transform_once": {"transform_once": {"modes": 8, "width": 32}},
        "deeponet": {"deeponet": {"sensors": 16}}, "finite_volume": {"finite_volume": {"boundary": "half_open"}}}
# the files' grid holds the near boundary and stops one spacing short of the far one; our solver's grid holds both
ZERO_SHOT = {**OURS, "finite_volume": {"finite_volume": {"boundary": "inclusive"}}}
REFINE = {16: 8, 32: 4, 64: 2}  # solved on 121, 125 and 127 nodes per side, then subsampled


def _neuralop(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
              epochs: int) -> tuple[float, np.ndarray, int]:
    from neuralop.losses import H1Loss
    from neuralop.models import FNO

    torch.manual_seed(0)
    model = FNO(n_modes=(16, 16), hidden_channels=32, in_channels=1, out_channels=1)
    x, y = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    mean, std = y.mean(), y.std()  # neuraloperator's Darcy loader encodes the output (unit Gaussian)
    optimizer = torch.optim.AdamW(model.parameters(), lr=8e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss = H1Loss(d=2)
    generator = torch.Generator().manual_seed(0)
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
    return seconds, prediction.numpy(), sum(p.numel() for p in model.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--zero-shot-epochs", type=int, default=20)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--symmetries", nargs="*", default=["transpose"],
                        help="augmentation for ours (the files' grid is symmetric under transposition only)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train = read_neuraloperator_pt(datasets.shared_file("operator/darcy/darcy_train_16.pt"))[:2]
    test = read_neuraloperator_pt(datasets.shared_file("operator/darcy/darcy_test_16.pt"))[:2]
    print(f"## Darcy 16×16 (neuraloperator files): train {len(train[0])}, test {len(test[0])}, {args.epochs} "
          f"epochs, {args.threads} CPU threads")
    print("| model | parameters | train s | s/epoch | test rel L2 | test rel H1 |")
    print("|---|---|---|---|---|---|")
    if not args.skip_peer:
        seconds, prediction, parameters = _neuralop(train, test, args.epochs)
        print(f"| neuraloperator FNO | {parameters} | {seconds:.1f} | {seconds / args.epochs:.2f} | "
              f"{float(relative_l2(prediction, test[1])):.4f} | {float(relative_h1(prediction, test[1])):.4f} |",
              flush=True)
    fit_part = (train[0][:-100], train[1][:-100])
    held_out_part = (train[0][-100:], train[1][-100:])
    for name, spec in OURS.items():
        start = time.perf_counter()
        model, _ = train_operator(spec, fit_part, held_out_part,
                                  train=TrainConfig(epochs=args.epochs, lr=5e-3, threads=args.threads),
                                  batch_size=16, loss="h1", symmetries=args.symmetries, progress=False)
        seconds = time.perf_counter() - start  # includes the per-epoch validation
        scores = evaluate_operator(model, *test)
        print(f"| spectraflow {name} | {sum(p.numel() for p in model.parameters())} | {seconds:.1f} | "
              f"{seconds / args.epochs:.2f} | {scores['rel_l2']:.4f} | {scores['rel_h1']:.4f} |", flush=True)

    print(f"\n## Zero-shot resolution transfer: trained on our solver at 16×16 (1000 samples, "
          f"{args.zero_shot_epochs} epochs), tested on 100 fresh samples per resolution; each subsampled from a "
          "solve on ~128×128 nodes")
    generated = {n: darcy_dataset(1000 if n == 16 else 100, n, seed=n, refine=REFINE[n]) for n in REFINE}
    held_out = darcy_dataset(100, 16, seed=1, refine=REFINE[16])
    print("| model | rel L2 16×16 | rel L2 32×32 | rel L2 64×64 | rel H1 16 / 32 / 64 |")
    print("|---|---|---|---|---|")
    for name, spec in ZERO_SHOT.items():
        a, u = generated[16]
        model, _ = train_operator(spec, (a[:, None], u[:, None]), (held_out[0][:, None], held_out[1][:, None]),
                                  train=TrainConfig(epochs=args.zero_shot_epochs, lr=5e-3, threads=args.threads),
                                  batch_size=16, loss="h1", progress=False)
        results = [evaluate_operator(model, held_out[0][:, None], held_out[1][:, None])]
        results += [evaluate_operator(model, generated[n][0][:, None], generated[n][1][:, None]) for n in (32, 64)]
        print(f"| spectraflow {name} | " + " | ".join(f"{r['rel_l2']:.4f}" for r in results) + " | "
              + " / ".join(f"{r['rel_h1']:.3f}" for r in results) + " |", flush=True)


if __name__ == "__main__":
    from _results import recorded

    with recorded("operators"):
        main()
