"""Denoising on the San Diego scene scaled to [0, 1], side by side with HyDe, same noisy input, same seed.

For each case of the field's protocol (Gaussian σ = 30 and 50, non-i.i.d., mixture) prints MPSNR (dB), MSSIM,
SAM (degrees) and CPU seconds for HyDe's FastHyDe and HyMiNoR (from the private copy that
``benchmarks/peers.sh`` installs in ``.peers/``; FastHyDe with ``iid=True``, see STACK.md) and for ours, HyDe's
best row first and ours under it.

With ``--deep DIR`` the deep ``qrnn3d`` is added: trained first (unless ``DIR`` already holds a checkpoint) on
the other real scenes — Jasper Ridge and Samson, each scaled to [0, 1], never San Diego — with noise drawn
per patch from the four cases, for ``--epochs`` × ``--steps`` batches; the budget it had is printed with it.

Run by hand: ``bash benchmarks/peers.sh && python benchmarks/denoise.py [--seed 0] [--deep /tmp/qrnn3d]``.
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
OURS: dict[str, dict[str, object]] = {"subspace_tv": {}, "robust_subspace_tv": {}}


def _train_deep(directory: Path, epochs: int, steps: int, features: int) -> str:
    """Train qrnn3d on Jasper Ridge and Samson (scaled to [0, 1]); return a line describing the budget."""
    from spectraflow.io import write_store
    from spectraflow.methods.denoisers import DenoiserData, train_denoiser
    from spectraflow.preprocess import PatchConfig, parse_steps, preprocess_store
    from spectraflow.train import TrainConfig, read_checkpoint

    if not (directory / "model.json").exists():
        stores = []
        for name in ("jasper_ridge", "samson"):
            raw = write_store(datasets.load(name)[["cube"]], directory.parent / f"{name}.zarr")
            stores.append(preprocess_store(raw, directory.parent / f"{name}-01.zarr",
                                           parse_steps([{"normalize": {"method": "minmax"}}]),
                                           patches=PatchConfig(size=32, overlap=16, region=48, val_fraction=0.2)))
        train_denoiser(stores, directory, network={"features": features, "levels": 2},
                       train=TrainConfig(epochs=epochs, lr=2e-3),
                       data=DenoiserData(batch_size=8, steps=steps, bands=31),
                       noise=[{"case": case, **options} for _, case, options in CASES],
                       curves=directory.parent / "curves.csv")
    meta, _ = read_checkpoint(directory)
    seconds = sum(float(line.split(",")[-1]) for line in
                  (directory.parent / "curves.csv").read_text().splitlines()[1:])
    return (f"qrnn3d: features {meta['config']['features']}, {meta['train']['epochs']} epochs × {meta['data']['steps']}"
            f" steps × batch {meta['data']['batch_size']} (31-band windows of Jasper Ridge + Samson), "
            f"{seconds:.0f} s on {meta['device']} ({meta['precision']}); best epoch {meta['epoch']}")


def _hyde_methods() -> dict[str, object]:
    import torch

    warnings.filterwarnings("ignore")
    import hyde

    fast, hyminor = hyde.FastHyDe(), hyde.HyMiNoR()
    return {
        "HyDe FastHyDe": lambda y: fast(torch.tensor(y), noise_type="additive", iid=True, k_subspace=10),
        "HyDe HyMiNoR": lambda y: hyminor(torch.tensor(y), lam=10.0, iterations=50),
    }


def _memory_check(checkpoint: Path) -> None:
    """Tiled inference of a 400×400×224 cube: the peak resident memory of this whole process."""
    import resource

    cube = xr.DataArray(np.random.default_rng(0).random((400, 400, 224), dtype=np.float32), dims=("y", "x", "band"))
    start = time.perf_counter()
    out = methods.get("denoise", "qrnn3d")(checkpoint=str(checkpoint), memory_mb=1024).denoise(cube)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB → GiB
    print(f"qrnn3d tiled inference, 400×400×224 float32 ({cube.nbytes / 2**20:.0f} MiB): {out.shape}, "
          f"{time.perf_counter() - start:.1f} s, peak RSS of the process {peak:.2f} GiB (cap 2 GiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deep", type=Path, help="checkpoint directory of qrnn3d (trained there when absent)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--memory-check", action="store_true",
                        help="only: 400×400×224 through the --deep model, memory_mb=1024; peak RSS")
    args = parser.parse_args()
    if args.memory_check:
        _memory_check(args.deep)
        return
    configs = dict(OURS)
    if args.deep is not None:
        print(_train_deep(args.deep, args.epochs, args.steps, args.features))
        configs["qrnn3d"] = {"checkpoint": str(args.deep)}
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
        for name, config in configs.items():
            start = time.process_time()
            out = methods.get("denoise", name)(**config).denoise(xr.DataArray(noisy, dims=("y", "x", "band"))).values
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
    from _results import recorded

    with recorded("denoise"):
        main()
