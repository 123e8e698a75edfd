"""Scenes larger than memory: the per-scene methods on generated 224-band cubes of 0.25 to 8 GB, under 2 GB.

Prints, measured in one run on the dask threaded scheduler (every core), each step in a fresh process (as DVC
runs each stage) whose input stores were first evicted from the page cache (so every size reads from disk, as a
scene larger than the page cache is read; a small cube would otherwise be read from memory):

* per cube: wall seconds, seconds per GB (of the generated float32 cube) and peak RSS of the step's process
  (sampled every 50 ms) for each step, store to store: ``preprocess`` (params.yaml's chain: radiometric, bad bands,
  min–max), ``subspace_tv`` and ``robust_subspace_tv`` on the preprocessed cube with Gaussian noise added
  (σ = 10/255), and ``unmix``: archetypal endmembers fitted on a representative subset of the
  ``subspace_tv`` result, then FCLS abundances of every pixel (the unmix stage's ``unmix_store``), and ``rx``
  (global Reed–Xiaoli scores of the noisy cube, the anomaly stage's ``detect_store``), and ``mtf_glp``: the fuse
  stage's ``fuse_store`` on the preprocessed cube's first quarter of rows and a generated panchromatic image ×2
  finer (the scene's field on the finer grid; both written as stores first, untimed), so the fused cube has the
  cube's pixels; then each step's time per GB relative to the 1 GB cube's;
* at 1 GB: MPSNR (against the clean preprocessed cube) of ``subspace_tv`` tiled under its default ``memory_mb``
  and run as one tile over the whole cube, and their difference;
* archetypal analysis and the unmixing network (``autoencoder``) on Samson and Jasper Ridge fitted on a subset
  (``max_pixels`` below the scene's pixel count) against the fit on every pixel: SAD (degrees) and abundance
  RMSE, mean ± std over seeds; each at its defaults otherwise.

The generated scene: five library endmembers mixed by abundances that vary smoothly in space (softmax of a few
random low-frequency cosines, the same field in every block, so blocks have no seams), AVIRIS band grid.
Nothing here chose a method's setting: ``memory_mb``/``halo``/``max_pixels`` are the methods' defaults.

Run by hand: ``python benchmarks/scale.py [--sizes 0.25 1 4 8] [--workdir /tmp/spectraflow-scale] [--seeds 3]``
(about an hour for the default sizes on 2 cores; needs ~3.5× the largest cube of free disk). The cube table goes
to ``results/scale.md``, the subset fits to ``results/scale_subset.md`` (``--sizes`` with no value: only those).
``--statistics`` times only ``subspace_tv``'s statistics pass on the generated cubes, its neighbour differences over
every row against thinned rows (``results/scale_statistics.md``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from _memory import PeakRSS
from _results import recorded

ROOT = Path(__file__).resolve().parents[1]
MATERIALS = ["vegetation", "soil", "water", "asphalt", "kaolinite"]
NOISE_SIGMA = 10 / 255
WIDTH = 2048
#: the stores each cube's steps write (removed before and after them)
STORES = ("pre.zarr", "noisy.zarr", "subspace_tv.zarr", "robust.zarr", "unmix.zarr", "rx.zarr", "quarter.zarr",
          "pan.zarr", "fused.zarr", "whole.zarr")
ROWS_PER_BLOCK = 32
#: the fusion step's resolution ratio
FUSION_RATIO = 2
PAN_ROWS = ROWS_PER_BLOCK * FUSION_RATIO // FUSION_RATIO**2  # divides the fine rows of every generated cube


def _abundance_block(y0: int, rows: int, width: int, seed: int, ratio: int = 1) -> np.ndarray:
    """Smooth abundances ``(rows, width, material)`` of image rows ``y0…``: a softmax of random cosines; with
    ``ratio`` > 1, of the grid ``ratio`` times finer (coarse pixel ``i`` at fine pixel ``i · ratio + ratio // 2``)."""
    rng = np.random.default_rng(seed)  # the same field parameters in every block
    n = len(MATERIALS)
    frequency = rng.uniform(1 / 400, 1 / 40, (n, 3, 2)) * rng.choice([-1, 1], (n, 3, 2))
    phase = rng.uniform(0, 2 * np.pi, (n, 3))
    yy, xx = (np.mgrid[y0:y0 + rows, 0:width].astype(np.float64) - ratio // 2) / ratio
    logits = np.stack([sum(3.0 * np.cos(2 * np.pi * (f[0] * yy + f[1] * xx) + p)
                           for f, p in zip(frequency[k], phase[k], strict=True)) for k in range(n)], axis=-1)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


def generated_store(path: Path, gigabytes: float, seed: int = 0) -> Path:
    """A float32 reflectance cube of about ``gigabytes`` (AVIRIS grid, 224 bands) written as a store."""
    import dask
    import dask.array as da

    from spectraflow.cube import make_scene
    from spectraflow.io import write_store
    from spectraflow.preprocess import WATER_WINDOWS_NM, in_windows
    from spectraflow.synth import endmember_spectra, sensor_grid

    wavelength, fwhm = sensor_grid("aviris")
    spectra = endmember_spectra(MATERIALS, wavelength).astype(np.float32)
    height = max(1, round(gigabytes * 1e9 / (WIDTH * len(wavelength) * 4) / ROWS_PER_BLOCK)) * ROWS_PER_BLOCK
    if path.exists():
        return path

    def block(block_id: tuple[int, ...] = (0,)) -> np.ndarray:
        y0 = block_id[0] * ROWS_PER_BLOCK
        return (_abundance_block(y0, ROWS_PER_BLOCK, WIDTH, seed).astype(np.float32) @ spectra)

    data = da.map_blocks(block, dtype=np.float32, meta=np.empty((0, 0, 0), np.float32),
                         chunks=((ROWS_PER_BLOCK,) * (height // ROWS_PER_BLOCK), (WIDTH,), (len(wavelength),)))
    scene = make_scene(data, wavelength=wavelength, fwhm=fwhm, good_band=~in_windows(wavelength, WATER_WINDOWS_NM),
                       units="reflectance", sensor="aviris")
    scene.attrs.update(name=path.stem, source_file="generated")
    with dask.config.set(scheduler="threads"):
        write_store(scene, path)
    return path


def noisy_store(clean: Path, path: Path, seed: int = 0) -> Path:
    """``clean`` plus Gaussian noise of σ = 10/255 (seeded per block), written as a store."""
    import dask.array as da

    from spectraflow.io import open_store, write_store

    scene = open_store(clean)
    cube = scene["cube"]
    noise = da.random.RandomState(seed).standard_normal(cube.shape, chunks=cube.data.chunks).astype(np.float32)
    write_store(scene.assign(cube=cube + NOISE_SIGMA * noise), path, kind="preprocessed")
    return path


def evicted(*stores: Path) -> None:
    """Drop ``stores``' files from the page cache (``posix_fadvise`` DONTNEED), so the next step reads them from
    disk at every cube size, as a scene larger than the page cache is read."""
    import os

    for store in stores:
        for path in Path(store).rglob("*"):
            if path.is_file():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def _run_step(step: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    step(*args, **kwargs)


def measured(step: Any, *args: Any, **kwargs: Any) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of ``step(*args, **kwargs)`` run in a fresh process (as each DVC stage
    runs) on inputs read from disk: every store among the arguments is evicted from the page cache first."""
    import multiprocessing

    evicted(*[a for a in (*args, *kwargs.values()) if isinstance(a, Path) and a.suffix == ".zarr" and a.exists()])
    process = multiprocessing.get_context("spawn").Process(target=_run_step, args=(step, args, kwargs))
    start = time.perf_counter()
    process.start()
    with PeakRSS(pid=process.pid) as rss:
        process.join()
    seconds = time.perf_counter() - start
    if process.exitcode != 0:
        raise RuntimeError(f"{getattr(step, '__name__', step)} failed (exit code {process.exitcode})")
    return seconds, rss.peak


def denoise(source: Path, dest: Path, method: str, **config: Any) -> None:
    from spectraflow.io import open_store, write_store
    from spectraflow.methods import get

    scene = open_store(source)
    write_store(scene.assign(cube=get("denoise", method)(**config).denoise(scene["cube"])), dest, kind="denoised")


def fusion_pair(pre: Path, directory: Path, ratio: int = FUSION_RATIO) -> tuple[Path, Path]:
    """Two stores for the fuse stage: the first ``1 / ratio²`` of ``pre``'s rows, and a generated panchromatic
    image ``ratio`` times finer (the scene's abundance field on the finer grid, mixing the library spectra's band
    means), so that the fused cube has ``pre``'s pixels."""
    import dask
    import dask.array as da

    from spectraflow.cube import make_scene
    from spectraflow.io import open_store, write_store
    from spectraflow.synth import endmember_spectra, sensor_grid

    scene = open_store(pre)
    rows = scene.sizes["y"] // ratio**2
    wavelength = sensor_grid("aviris")[0]
    brightness = endmember_spectra(MATERIALS, wavelength).mean(axis=1)

    def pan_block(block_id: tuple[int, ...] = (0,)) -> np.ndarray:
        y0 = block_id[0] * PAN_ROWS
        return (_abundance_block(y0, PAN_ROWS, WIDTH * ratio, 0, ratio) @ brightness).astype(np.float32)[..., None]

    pan = da.map_blocks(pan_block, dtype=np.float32, meta=np.empty((0, 0, 0), np.float32),
                        chunks=((PAN_ROWS,) * (rows * ratio // PAN_ROWS), (WIDTH * ratio,), (1,)))
    companion = make_scene(pan, wavelength=[float(wavelength.mean())], fwhm=[float(np.ptp(wavelength))],
                           units="reflectance")
    companion.attrs.update(name="pan", source_file="generated")
    with dask.config.set(scheduler="threads"):
        write_store(scene.isel(y=slice(0, rows)), directory / "quarter.zarr", kind="preprocessed")
        write_store(companion, directory / "pan.zarr")
    return directory / "quarter.zarr", directory / "pan.zarr"


def fuse(scene: Path, companion: Path, dest: Path) -> None:
    """The fuse stage's work (``fuse_store``) with ``mtf_glp``, scored on the stage's default window: the pair read
    from its stores, fitted in one pass, fused tile by tile as the store is written."""
    from spectraflow.config import FuseConfig
    from spectraflow.methods.fusion import fuse_store

    fuse_store(scene, companion, dest, methods=["mtf_glp"], srf="estimate", score_window=FuseConfig().score_window)


def mpsnr(estimate: Path, clean: Path) -> float:
    """MPSNR of two stores' cubes, computed block by block."""
    import dask.array as da

    from spectraflow.io import open_store

    a, b = open_store(estimate)["cube"].data, open_store(clean)["cube"].data
    mse = ((a.rechunk(b.chunks).astype(np.float64) - b) ** 2).mean(axis=(0, 1))
    return float(np.mean(10 * np.log10(1.0 / np.maximum(da.compute(mse)[0], 1e-30))))


#: the steps of the cube table, in order (preprocess makes every other step's input)
STEPS = ("preprocess", "subspace_tv", "robust_subspace_tv", "unmix", "rx", "mtf_glp")


def scale_table(sizes: list[float], work: Path, names: Sequence[str] = STEPS) -> None:
    from spectraflow.methods.anomaly import detect_store
    from spectraflow.methods.unmixers import unmix_store
    from spectraflow.preprocess import parse_steps, preprocess_store

    steps = parse_steps(yaml.safe_load((ROOT / "params.yaml").read_text())["preprocess"]["steps"])
    names = ["preprocess", *(n for n in STEPS[1:] if n in names)]
    rows: dict[float, dict[str, tuple[float, int]]] = {}
    print("| cube | pixels | " + " | ".join(f"{n} s (s/GB, peak RSS)" for n in names) + " | total s/GB |")
    print("|---|---|" + "---|" * (len(names) + 1))
    for size in sizes:
        directory = work / f"{size:g}GB"
        raw = generated_store(directory / "raw.zarr", size)
        from spectraflow.io import open_store

        shape = open_store(raw)["cube"].shape
        gigabytes = shape[0] * shape[1] * shape[2] * 4 / 1e9
        for name in STORES:
            shutil.rmtree(directory / name, ignore_errors=True)
        pre, noisy = directory / "pre.zarr", directory / "noisy.zarr"
        results = {"preprocess": measured(preprocess_store, raw, pre, steps)}
        if {"subspace_tv", "robust_subspace_tv", "unmix", "rx"} & set(names):
            noisy_store(pre, noisy)
        if {"subspace_tv", "unmix"} & set(names):
            results["subspace_tv"] = measured(denoise, noisy, directory / "subspace_tv.zarr", "subspace_tv")
        if "robust_subspace_tv" in names:
            results["robust_subspace_tv"] = measured(denoise, noisy, directory / "robust.zarr",
                                                     "robust_subspace_tv")
        if "unmix" in names:
            results["unmix"] = measured(unmix_store, directory / "subspace_tv.zarr", directory / "unmix.zarr",
                                        n_endmembers=len(MATERIALS), blind={"archetypal": {"seed": 0}})
        if "rx" in names:
            results["rx"] = measured(detect_store, noisy, directory / "rx.zarr", methods=["rx"])
        if "mtf_glp" in names:
            results["mtf_glp"] = measured(fuse, *fusion_pair(pre, directory), directory / "fused.zarr")
        results = {n: results[n] for n in names}
        rows[gigabytes] = results
        cells = [f"{s:.0f} ({s / gigabytes:.1f}, {rss / 2**30:.2f} GB)" for s, rss in results.values()]
        total = sum(s for s, _ in results.values())
        print(f"| {gigabytes:.2f} GB ({shape[0]}×{shape[1]}×{shape[2]}) | {shape[0] * shape[1] / 1e6:.1f} M | "
              + " | ".join(cells) + f" | {total / gigabytes:.1f} |", flush=True)
        if abs(size - 1) < 1e-9 and "subspace_tv" in names:
            with_tiles = mpsnr(directory / "subspace_tv.zarr", pre)
            whole_seconds, whole_rss = measured(denoise, noisy, directory / "whole.zarr", "subspace_tv",
                                                  memory_mb=1e6)
            whole = mpsnr(directory / "whole.zarr", pre)
            tiled_note = (f"subspace_tv at {gigabytes:.2f} GB: MPSNR tiled {with_tiles:.3f} dB, whole cube as one tile "
                          f"{whole:.3f} dB (difference {with_tiles - whole:+.4f} dB; the whole-cube run took "
                          f"{whole_seconds:.0f} s and {whole_rss / 2**30:.1f} GB); noisy "
                          f"{mpsnr(noisy, pre):.3f} dB")
        for name in STORES:
            shutil.rmtree(directory / name, ignore_errors=True)
    print()
    reference = min(rows, key=lambda gb: abs(gb - 1))
    print(f"time per GB relative to the {reference:.2f} GB cube's:\n")
    print("| cube | " + " | ".join(names) + " | total |")
    print("|---|" + "---|" * (len(names) + 1))
    for gigabytes, results in rows.items():
        ratios = [results[n][0] / gigabytes / (rows[reference][n][0] / reference) for n in names]
        total = (sum(s for s, _ in results.values()) / gigabytes) / (sum(s for s, _ in rows[reference].values())
                                                                     / reference)
        print(f"| {gigabytes:.2f} GB | " + " | ".join(f"{r:.2f}" for r in ratios) + f" | {total:.2f} |")
    print()
    if "tiled_note" in locals():
        print(tiled_note)
        print()


#: The blind methods fitted on a subset of a scene larger than their max_pixels: what the subset is, in words.
SUBSET_FITS = {"archetypal": "a representative subset (rows + extremes)",
               "autoencoder": "windows of rows (the network; its archetypal start fitted on every pixel)"}


def _statistics(store: Path, **options: Any) -> None:
    from spectraflow.io import open_store
    from spectraflow.preprocess import band_statistics

    band_statistics(open_store(store)["cube"], gram=True, **options)


def statistics_table(sizes: list[float], work: Path) -> None:
    """``subspace_tv``'s one pass over the cube (band statistics with the pixels' Gram matrix) on each generated
    cube, each variant in a fresh process reading from disk: without neighbour differences (the reference), with them
    over every row, and thinned to every n-th row as ``subspace_tv`` takes them (``white_test_stride``)."""
    from spectraflow.io import open_store
    from spectraflow.methods.denoisers.subspace_tv import white_test_stride

    print("| cube | no differences s | every row s (× reference) | every n-th row s (× reference) | n | pairs, about |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        raw = generated_store(work / f"{size:g}GB" / "raw.zarr", size)
        height, width, bands = open_store(raw)["cube"].shape
        stride = white_test_stride((height, width))
        reference, _ = measured(_statistics, raw)
        every, _ = measured(_statistics, raw, shift_difference=True)
        thinned, _ = measured(_statistics, raw, shift_difference=True, difference_stride=stride)
        print(f"| {height * width * bands * 4 / 1e9:.2f} GB ({height}×{width}×{bands}) | {reference:.1f} | {every:.1f} "
              f"({every / reference:.2f}) | {thinned:.1f} ({thinned / reference:.2f}) | {stride} | "
              f"{height * (width - 1) // stride} |", flush=True)


def subset_table(seeds: int, subsets: list[int]) -> None:
    from spectraflow import datasets, methods
    from spectraflow.metrics import unmixing_scores

    for method, subset in SUBSET_FITS.items():
        print(f"{method} fitted on {subset} against every pixel, {seeds} seeds:\n")
        print("| scene | max_pixels | SAD° | abundance RMSE | Δ SAD° vs all pixels (per seed, max) | fit s |")
        print("|---|---|---|---|---|---|")
        for name in ("samson", "jasper_ridge"):
            scene = datasets.load(name)
            cube, truth_e, truth_a = scene["cube"], scene["endmembers"], scene["abundances"]
            n = scene.sizes["endmember"]
            full: list[float] = []
            for max_pixels in [cube.sizes["y"] * cube.sizes["x"], *subsets]:
                sad, rmse, seconds = [], [], []
                for seed in range(seeds):
                    start = time.perf_counter()
                    em, ab = methods.get("unmix", method)(seed=seed, max_pixels=max_pixels).unmix(cube, n)
                    seconds.append(time.perf_counter() - start)
                    scores = unmixing_scores(em, ab, truth_e, truth_a)
                    sad.append(scores["sad_mean"])
                    rmse.append(scores["abundance_rmse"])
                full = full or sad
                delta = max(abs(a - b) for a, b in zip(sad, full, strict=True))
                print(f"| {name} | {max_pixels} | {np.mean(sad):.3f} ± {np.std(sad):.3f} | {np.mean(rmse):.4f} ± "
                      f"{np.std(rmse):.4f} | {delta:.3f} | {np.mean(seconds):.1f} |", flush=True)
        print()


#: EMIT's imaging spectrometer: 1242 lines of 1280 samples, 285 channels over 381-2493 nm (~7.4 nm sampling)
SCENE_SHAPE = (1242, 1280)
SCENE_GRID = (381.0, 2493.0, 285)
SCENE_STAGES = ("ingest", "preprocess", "denoise", "unmix", "anomaly", "train_unmix")


def write_emit_like(directory: Path, seed: int = 0) -> Path:
    """An EMIT-sized reflectance scene (the cube generator's field and library, EMIT's band grid) as an ENVI file
    (int16 reflectance × 10⁴, BIL, as a sensor product is delivered), written block by block."""
    import dask.array as da

    from spectraflow.io._envi import write_envi
    from spectraflow.synth import endmember_spectra

    height, width = SCENE_SHAPE
    wavelength = np.linspace(*SCENE_GRID)
    spectra = endmember_spectra(MATERIALS, wavelength)

    def block(block_id: tuple[int, ...] = (0,)) -> np.ndarray:
        y0 = block_id[0] * ROWS_PER_BLOCK
        rows = min(ROWS_PER_BLOCK, height - y0)
        return np.round(_abundance_block(y0, rows, width, seed) @ spectra * 1e4).astype(np.int16)

    chunks = ((ROWS_PER_BLOCK,) * (height // ROWS_PER_BLOCK) + ((height % ROWS_PER_BLOCK,) if height % ROWS_PER_BLOCK
                                                                 else ()), (width,), (len(wavelength),))
    data = da.map_blocks(block, dtype=np.int16, chunks=chunks, meta=np.empty((0, 0, 0), np.int16))
    directory.mkdir(parents=True, exist_ok=True)
    header, _ = write_envi(directory / "scene.img", data, interleave="bil", wavelength=wavelength,
                           fwhm=np.full(len(wavelength), 1.15 * (SCENE_GRID[1] - SCENE_GRID[0]) / (SCENE_GRID[2] - 1)),
                           reflectance_scale_factor=1e4, sensor_type="EMIT-like (generated)")
    return header


def scene_table(work: Path, without: Sequence[str] = ()) -> None:
    """The default per-scene stages (params.yaml's, as DVC runs them: one ``python -m flows.<stage>`` process
    each) and the unmixing network's ``train_unmix`` (at params.yaml's budget) on one generated EMIT-sized scene,
    in a workspace of its own; ``without``: denoisers left out."""
    import os
    import subprocess
    import sys

    space = work / "emit-workspace"
    shutil.rmtree(space, ignore_errors=True)
    header = write_emit_like(space / "data" / "raw" / "emit")
    for name in ("src", "flows", "tasks"):  # the code configure digests
        (space / name).symlink_to(ROOT / name)
    (space / "data" / "models").mkdir(parents=True)
    (space / "data" / "models" / "denoiser").symlink_to(ROOT / "data" / "models" / "denoiser")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["collection"] = {"parallel": 1, "scenes": {"emit": {"source_dir": "data/raw/emit", "source": header.name,
                                                               "unmix": {"n_endmembers": len(MATERIALS)}}}}
    params["fuse"]["companions"] = {}
    params["train_unmix"]["scenes"] = ["emit"]  # the unmixing network at params.yaml's budget, on strips of the scene
    params["denoise"]["methods"] = [m for m in params["denoise"]["methods"]
                                    if (m if isinstance(m, str) else next(iter(m))) not in without]
    (space / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # cold: each stage in the process started here (a warm server would fork it outside this process's children,
    # where the peak RSS is sampled, and the stages' imports are part of a stage's cost on a fresh machine)
    env = {**os.environ, "PREFECT_HOME": str(space / ".prefect"), "PYTHONPATH": str(space), "SPECTRAFLOW_WARM": "0"}
    print(f"one generated EMIT-sized scene ({SCENE_SHAPE[0]}×{SCENE_SHAPE[1]}×{SCENE_GRID[2]}, "
          f"{np.prod(SCENE_SHAPE) * SCENE_GRID[2] * 4 / 1e9:.2f} GB as float32; int16 ENVI, BIL) through the default "
          "per-scene stages of params.yaml, each its own process as DVC runs it (one stage at a time, every core)"
          + (f"; denoisers left out: {', '.join(without)}" if without else "") + ":\n")
    print("| stage | s | peak RSS |")
    print("|---|---|---|")
    total, failures = 0.0, []
    subprocess.run([sys.executable, "-m", "flows.configure"], cwd=space, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # each stage's parameters, as dvc repro writes them first
    for stage in SCENE_STAGES:  # each reads the ingested or preprocessed store: a failed one stops no other
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", f"flows.{stage}", "emit"], cwd=space, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with PeakRSS(pid=process.pid) as rss:
            _, errors = process.communicate()
        seconds = time.perf_counter() - start
        total += seconds
        if process.returncode != 0:
            print(f"| {stage} | failed (exit code {process.returncode}) after {seconds:.0f} s | "
                  f"{rss.peak / 2**30:.2f} GB |", flush=True)
            failures.append(f"{stage} failed (exit code {process.returncode}; -9: killed, out of memory):\n```\n"
                            f"{errors[-2000:]}\n```")
            continue
        print(f"| {stage} | {seconds:.0f} | {rss.peak / 2**30:.2f} GB |", flush=True)
    print(f"| **all** | **{total:.0f}** ({total / 60:.1f} min{', with failures' if failures else ''}) | |\n")
    print("\n\n".join(failures) + "\n" if failures else "")
    metrics = {stage: json.loads((space / "data" / "metrics" / "emit" / f"{stage}.json").read_text())
               for stage in SCENE_STAGES if (space / "data" / "metrics" / "emit" / f"{stage}.json").exists()}
    timings = {stage: json.loads((space / "data" / "timings" / "emit" / f"{stage}.json").read_text())
               for stage in SCENE_STAGES if (space / "data" / "timings" / "emit" / f"{stage}.json").exists()}
    print("the stages' timings (data/timings/emit/*.json; a denoiser's seconds: its statistics pass, then its "
          "tiles computed and written):\n")
    print("```\n" + json.dumps(timings, indent=1)[:3000] + "\n```\n")
    print("the stages' metrics (data/metrics/emit/*.json):\n")
    print("```\n" + json.dumps(metrics, indent=1)[:6000] + "\n```\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=float, nargs="*", default=[0.25, 1, 4, 8], help="none: only the subset fits")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/spectraflow-scale"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--subsets", type=int, nargs="+", default=[5000, 2500])
    parser.add_argument("--skip-subset", action="store_true")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                        help="only these steps of the cube table (and preprocess, their input); recorded apart")
    parser.add_argument("--scene", action="store_true", help="only the EMIT-sized scene through the stages")
    parser.add_argument("--statistics", action="store_true",
                        help="only subspace_tv's statistics pass on the --sizes cubes, neighbour pairs thinned or not")
    parser.add_argument("--without", nargs="*", default=[], metavar="DENOISER",
                        help="with --scene: leave these denoisers out of the denoise stage")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.scene:
        with recorded("scale_scene"):
            scene_table(args.workdir, args.without)
        return
    if args.statistics:
        with recorded("scale_statistics"):
            statistics_table(args.sizes, args.workdir)
        return
    if args.sizes:
        steps = [n for n in STEPS[1:] if n in args.steps]
        with recorded("scale" if steps == list(STEPS[1:]) else "_".join(["scale", *steps])):
            scale_table(args.sizes, args.workdir, steps)
    if not args.skip_subset:
        with recorded("scale_subset"):
            subset_table(args.seeds, args.subsets)


if __name__ == "__main__":
    main()
