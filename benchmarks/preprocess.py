"""Preprocessing at scale: scale → bad bands → normalise → Savitzky–Golay → PCA(20), out of core.

Prints, measured in one run:
* the chain on a generated cube of ``--big-gb`` (default 6 GB) stored int16 DN, on a local process cluster
  whose workers share ``--memory-gb`` (default 2 GB) with this process: wall time, throughput and the peak RSS
  of this process plus its workers (sampled every 50 ms);
* the same chain on a ``--small-gb`` cube that fits in memory: spectraflow (store → store, 2 workers) against
  an in-memory NumPy/SciPy implementation of the chain (array → array), as a throughput ratio;
* the speed-up of the spectraflow chain from 1 to 2 workers on the small cube.

Run by hand: ``python benchmarks/preprocess.py [--big-gb 6] [--small-gb 1] [--workdir /tmp/...]``.
Generated stores are kept in ``--workdir`` and reused when their size matches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np

from _memory import PeakRSS

CHAIN = [
    "radiometric",
    {"bad_bands": {"header": True}},
    {"normalize": {"method": "minmax"}},
    {"savgol": {"window": 11, "order": 2}},
    {"pca": {"n_components": 20}},
]
N_BANDS = 224


def _generate_block(block_id: tuple[int, ...], rows: int, width: int, seed: int) -> np.ndarray:
    from spectraflow.synth import endmember_spectra, sensor_grid

    wavelength, _ = sensor_grid("aviris")
    spectra = endmember_spectra(["vegetation", "soil", "water", "asphalt", "kaolinite"], wavelength)
    rng = np.random.default_rng([seed, block_id[0]])
    abundances = rng.dirichlet(np.ones(len(spectra)), size=rows * width).astype(np.float32)
    reflectance = abundances @ spectra.astype(np.float32)
    reflectance += rng.standard_normal(reflectance.shape, dtype=np.float32) * np.float32(0.004)
    return np.clip(reflectance * 10000, -32768, 32767).astype(np.int16).reshape(rows, width, N_BANDS)


def generated_store(path: Path, gigabytes: float, seed: int = 0) -> Path:
    """A DN cube (int16, AVIRIS grid, water bands flagged) of about ``gigabytes``, written as a store."""
    import dask
    import dask.array as da

    from spectraflow.cube import make_scene
    from spectraflow.io import count_files, write_store
    from spectraflow.preprocess import WATER_WINDOWS_NM, in_windows
    from spectraflow.synth import sensor_grid

    width = 2048
    rows_per_block = 64
    height = int(np.ceil(gigabytes * 1e9 / (width * N_BANDS * 2) / rows_per_block)) * rows_per_block
    expected = height * width * N_BANDS * 2
    if path.exists() and sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) >= expected:
        return path
    shutil.rmtree(path, ignore_errors=True)
    wavelength, fwhm = sensor_grid("aviris")
    data = da.map_blocks(lambda block_id=None: _generate_block(block_id, rows_per_block, width, seed),
                         dtype=np.int16, chunks=((rows_per_block,) * (height // rows_per_block), (width,), (N_BANDS,)),
                         meta=np.empty((0, 0, 0), np.int16))
    scene = make_scene(data, wavelength=wavelength, fwhm=fwhm, good_band=~in_windows(wavelength, WATER_WINDOWS_NM),
                       units="reflectance", data_scale=10000.0, sensor="aviris")
    scene.attrs.update(name=path.stem, source_file="generated")
    start = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        write_store(scene, path)
    print(f"  generated {path} ({expected / 1e9:.2f} GB, {height}x{width}x{N_BANDS} int16, "
          f"{count_files(path)} files) in {time.perf_counter() - start:.0f} s")
    return path


def spectraflow_chain(source: Path, dest: Path, n_workers: int, worker_memory: str) -> tuple[float, int]:
    """Wall seconds and peak RSS of the chain store → store on a fresh local process cluster."""
    from spectraflow.compute import dask_scheduler
    from spectraflow.preprocess import parse_steps, preprocess_store

    shutil.rmtree(dest, ignore_errors=True)
    with dask_scheduler("processes", n_workers=n_workers, memory_limit=worker_memory), PeakRSS() as rss:
        start = time.perf_counter()
        preprocess_store(source, dest, parse_steps(CHAIN))
        seconds = time.perf_counter() - start
    return seconds, rss.peak


def numpy_chain(dn: np.ndarray, good: np.ndarray, data_scale: float) -> np.ndarray:
    """The same chain, in memory, with NumPy and SciPy (float32 like spectraflow)."""
    from scipy.signal import savgol_filter

    x = dn[..., good].astype(np.float32) / np.float32(data_scale)
    low, high = x.min(), x.max()
    x = (x - low) / (high - low)
    x = savgol_filter(x, 11, 2, axis=-1, mode="interp").astype(np.float32)
    pixels = x.reshape(-1, x.shape[-1])
    mean = pixels.mean(axis=0, dtype=np.float64)
    centred = pixels - mean.astype(np.float32)
    covariance = (centred.T.astype(np.float64) @ centred.astype(np.float64)) / (pixels.shape[0] - 1)
    _, vectors = np.linalg.eigh(covariance)
    return (centred @ vectors[:, ::-1][:, :20].astype(np.float32)).reshape(*x.shape[:2], 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big-gb", type=float, default=6.0)
    parser.add_argument("--small-gb", type=float, default=1.0)
    parser.add_argument("--memory-gb", type=float, default=2.0)
    parser.add_argument("--workdir", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "spectraflow-bench")
    parser.add_argument("--skip-big", action="store_true")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    import psutil

    from spectraflow.io import open_store

    print(f"preprocess benchmark: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 1e9:.0f} GB RAM; "
          f"chain {[s if isinstance(s, str) else next(iter(s)) for s in CHAIN]}")
    # the workers share the cap with this process
    worker_memory = f"{int((args.memory_gb * 1e9 - psutil.Process().memory_info().rss) / 2 / 1e6)}MB"
    rows = []
    if not args.skip_big:
        big = generated_store(args.workdir / "big.zarr", args.big_gb)
        nbytes = open_store(big)["cube"].nbytes
        seconds, peak = spectraflow_chain(big, args.workdir / "big-out.zarr", 2, worker_memory)
        rows.append(("out of core, 2 workers", nbytes, seconds, peak))
        print(f"  big cube: {nbytes / 1e9:.2f} GB in {seconds:.1f} s = {nbytes / seconds / 1e6:.0f} MB/s; "
              f"peak RSS (this process + workers) {peak / 1e9:.2f} GB, cap {args.memory_gb:.1f} GB: "
              f"{'OK' if peak <= args.memory_gb * 1e9 else 'EXCEEDED'}")
    small = generated_store(args.workdir / "small.zarr", args.small_gb, seed=1)
    scene = open_store(small)
    nbytes = scene["cube"].nbytes
    dn = scene["cube"].values
    good = scene["good_band"].values.astype(bool)
    start = time.perf_counter()
    numpy_chain(dn, good, float(scene["cube"].attrs["data_scale"]))
    numpy_seconds = time.perf_counter() - start
    del dn
    one, _ = spectraflow_chain(small, args.workdir / "small-out.zarr", 1, "4GB")
    two, peak_small = spectraflow_chain(small, args.workdir / "small-out.zarr", 2, worker_memory)
    print()
    print("| cube | implementation | seconds | MB/s | ratio to NumPy in memory |")
    print("|---|---|---|---|---|")
    print(f"| {nbytes / 1e9:.2f} GB | NumPy/SciPy, in memory (reference) | {numpy_seconds:.1f} | "
          f"{nbytes / numpy_seconds / 1e6:.0f} | 1.00 |")
    print(f"| {nbytes / 1e9:.2f} GB | spectraflow store→store, 1 worker | {one:.1f} | {nbytes / one / 1e6:.0f} | "
          f"{numpy_seconds / one:.2f} |")
    print(f"| {nbytes / 1e9:.2f} GB | spectraflow store→store, 2 workers | {two:.1f} | {nbytes / two / 1e6:.0f} | "
          f"{numpy_seconds / two:.2f} |")
    for label, big_bytes, seconds, peak in rows:
        print(f"| {big_bytes / 1e9:.2f} GB | spectraflow {label}, cap {args.memory_gb:.0f} GB, "
              f"peak RSS {peak / 1e9:.2f} GB | {seconds:.1f} | {big_bytes / seconds / 1e6:.0f} | "
              f"{(big_bytes / seconds) / (nbytes / numpy_seconds):.2f} |")
    print()
    print(f"speed-up 1 → 2 workers: {one / two:.2f}x (floor 1.6x); ratio to NumPy: {numpy_seconds / two:.2f} "
          f"(floor 0.7); small-cube peak RSS {peak_small / 1e9:.2f} GB")


if __name__ == "__main__":
    from _results import recorded

    with recorded("preprocess"):
        main()
