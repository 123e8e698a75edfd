"""Denoising on the San Diego scene scaled to [0, 1], side by side with HyDe, same noisy input, same seed.

For each case of the field's protocol (Gaussian σ = 30 and 50, non-i.i.d., mixture) prints MPSNR (dB), MSSIM,
SAM (degrees) and CPU seconds for HyDe's FastHyDe and HyMiNoR (from the private copy that
``benchmarks/peers.sh`` installs in ``.peers/``; FastHyDe with ``iid=True``, see STACK.md) and for ours, HyDe's
best row first and ours under it.

Run by hand: ``bash benchmarks/peers.sh && python benchmarks/denoise.py [--seed 0]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.append(str(Path(__file__).resolve().parents[1] / ".peers"))

from spectraflow import datasets, methods  # noqa: E402
from spectraflow.metrics import denoising_scores  # noqa: E402
from spectraflow.synth import add_noise  # noqa: E402

CASES = [("Gaussian σ=30", "gaussian", {"sigma": 30}), ("Gaussian σ=50", "gaussian", {"sigma": 50}),
         ("non-i.i.d.", "noniid", {}), ("mixture", "mixture", {})]
OURS = ["subspace_tv", "robust_subspace_tv"]


def _hyde_methods() -> dict[str, object]:
    import torch

    warnings.filterwarnings("ignore")
    import hyde

    fast, hyminor = hyde.FastHyDe(), hyde.HyMiNoR()
    return {
        "HyDe FastHyDe": lambda y: fast(torch.tensor(y), noise_type="additive", iid=True, k_subspace=10),
        "HyDe HyMiNoR": lambda y: hyminor(torch.tensor(y), lam=10.0, iterations=50),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    raw = datasets.load("san_diego")["cube"].values.astype(np.float64)
    clean = (raw - raw.min()) / (raw.max() - raw.min())
    peers = _hyde_methods()
    print("| case | method | MPSNR dB | MSSIM | SAM° | CPU s |")
    print("|---|---|---|---|---|---|")
    for label, case, options in CASES:
        noisy = add_noise(clean, case, args.seed, **options)
        rows = []
        for name, run in peers.items():
            start = time.process_time()
            out = np.asarray(run(noisy.copy()))
            rows.append((name, denoising_scores(out, clean), time.process_time() - start))
        best_peer = max(rows, key=lambda r: r[1]["mpsnr"])
        ours = []
        for name in OURS:
            start = time.process_time()
            out = methods.get("denoise", name)().denoise(xr.DataArray(noisy, dims=("y", "x", "band"))).values
            ours.append((f"spectraflow {name}", denoising_scores(out, clean), time.process_time() - start))
        noisy_scores = denoising_scores(noisy, clean)
        print(f"| {label} | noisy input | {noisy_scores['mpsnr']:.2f} | {noisy_scores['mssim']:.3f} | "
              f"{noisy_scores['sam']:.2f} | |")
        for name, scores, seconds in [best_peer, *[r for r in rows if r is not best_peer], *ours]:
            tag = " (HyDe best)" if name == best_peer[0] else ""
            print(f"| {label} | {name}{tag} | {scores['mpsnr']:.2f} | {scores['mssim']:.3f} | {scores['sam']:.2f} | "
                  f"{seconds:.1f} |")
        best_ours = max(ours, key=lambda r: r[1]["mpsnr"])
        gain = best_ours[1]["mpsnr"] - best_peer[1]["mpsnr"]
        print(f"| {label} | **ours − HyDe best** | **{gain:+.2f}** | | "
              f"{'lower' if best_ours[1]['sam'] < best_peer[1]['sam'] else 'HIGHER'} | |", flush=True)


if __name__ == "__main__":
    main()
