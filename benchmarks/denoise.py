"""Denoising on three real scenes scaled to [0, 1], side by side with HyDe, the same noisy input for every method.

Scored scenes: San Diego (AVIRIS, 100×100×189), ABU urban-1 (Texas Coast, AVIRIS, 100×100×204) and ABU beach-2
(San Diego beach, 100×100×193). For each scene, each case of the field's protocol (Gaussian σ = 30 and 50,
non-i.i.d., mixture) and each of ``--seeds`` (the noise draw, and the training seed of the learned model) it
measures MPSNR (dB), MSSIM, SAM (degrees) and wall-clock seconds for HyDe's FastHyDe and HyMiNoR (from the
private copy that ``benchmarks/peers.sh`` installs in ``.peers/``; FastHyDe runs with ``iid=True`` because its
``iid=False`` path fails, see STACK.md) and for ours; rows are mean ± std over the seeds, HyDe's best row first.

With ``--learned DIR`` ``subspace_learned`` is added: its eigen-image prior trained first (one model per seed,
``DIR/seed-<n>``, reused when there) on four *other* real scenes — Jasper Ridge, Samson, ABU beach-3 and ABU
urban-3 — with the Gaussian and non-i.i.d. cases; no scored scene is ever trained on. With ``--deep DIR`` the
deep ``qrnn3d`` is added, trained on Jasper Ridge and Samson with all four cases (``--epochs`` × ``--steps``).
The budgets they had are printed with them. Nothing here was tuned on the scored scenes: ``min_subspace``
3 (``subspace_tv``'s and the learned model's, which keeps it) and the learned model's self-ensemble (the network
averaged over the eight flips/rotations) were chosen on its four training scenes (``--training-scenes``, below).

Run by hand: ``bash benchmarks/peers.sh && python benchmarks/denoise.py --learned /tmp/prior [--deep /tmp/qrnn3d]``.
``python benchmarks/denoise.py --training-scenes --learned /tmp/prior`` (``results/denoise_training_scenes.md``)
prints what was decided on the four training scenes (never scored; a noise draw none of the training draws used),
with seed-0 priors: ``subspace_learned``'s gain over ``subspace_tv`` with 2, 3, 4, 6, 8 and 10 eigen-images at least,
each with a prior trained on those eigen-images (where its ``min_subspace`` was chosen), and at the default without
the self-ensemble; then ``subspace_tv`` itself at the other ``min_subspace`` (where its own was chosen); then the
mixture case with the sparse repair. ``--prior-weight`` (``results/denoise_prior_weight.md``) then chose, at that
``min_subspace``, the TV weight of the prior's input for this budget (:data:`PRIOR_WEIGHT`, 0.4; the library's
default stays ``subspace_tv``'s 0.7, for priors trained far shorter), which the scored run trains and denoises with.
At stop 65 ``min_subspace`` was chosen at weight 0.2 (the weight then: 3), then the weight at ``min_subspace`` 3
(0.4), then ``min_subspace`` again at 0.4 (3 again, the table recorded): the two settle.
``--held-out`` (``results/denoise_held_out.md``) measures what those in-scene checks cannot: transfer to a scene
the prior never saw. Each training scene is scored by a seed-0 prior trained on the other three, beside the prior
trained on all four. A setting that wins only on scenes the prior has seen showed up as a loss on the scored scenes
twice (a guided prior, ``width`` 48; ``subspace_learned``'s docstring).
``--inference-time`` (``results/denoise_inference.md``) times the prior on a 256×256×200 cube, the size of the
issue's inference budget, beside ``subspace_tv``.
``--mixtures`` (``results/denoise_mixtures.md``) chose, by that transfer (each training scene held out in turn), the
random rotations of each noise draw's eigen-images added to the prior's training patches (:data:`MIXTURES`).
``--library-prior`` (``results/denoise_library_prior.md``) checks the library's default TV weight (0.7) for the
short prior the default pipeline trains (``params.yaml``'s ``train_denoise`` budget, on its generated training
scene), on fresh generated scenes at each candidate weight, then the rotations per draw at 0.7.
``--wiener`` (``results/denoise_wiener.md``) chose ``subspace_tv``'s Wiener step (``wiener: true``, its default since
stop 68) on the four training scenes, beside each scene's held-out prior, and shows the mixture case with and without
it. The scored run shows ``subspace_tv`` with it and without it (``subspace_tv, TV alone``: the TV the prior refines).
The prior's checks on the training scenes measure against TV alone (:data:`TV_ALONE`), as they did before the step,
and score the network alone (``wiener_share: 0``, :func:`_prior`), as they did before the average.
``--wiener-share`` (``results/denoise_wiener_share.md``) chose, by the same transfer, ``subspace_learned``'s
``wiener_share``: the share of ``subspace_tv``'s own eigen-images (its Wiener step) averaged with the network's, fixed
or each eigen-image's by SURE, over both kinds of prior (the held-out supervised ones, and self-supervised ones trained
on each training scene's noisy cube: ``learned/train-self-…``, trained there when absent). The
scored run shows the network alone beside it (``subspace_learned, network alone``).
``--ceiling`` (``results/denoise_ceiling.md``) trains priors on ABU urban-1, the scored scene below issue 20's floor,
with and without the four training scenes, and scores them there: how far this network gets on that scene when it
has seen its clean cube. Those priors are a diagnosis, never the scored ones.
``--white`` (``results/denoise_white.md``, no prior) shows ``subspace_tv``'s ``drop_white`` test (an eigen-image
that cannot be told from white noise left out; a 3-standard-error test, nothing chosen) on the four training scenes and
the scored ones, each eigen-image's neighbour correlation beside its threshold. The scored run shows ``subspace_tv``
without it (``subspace_tv, white kept``). ``--bounds`` (``results/denoise_bounds.md``, no prior) measures what
limits issue 20's floor: oracles of the eigen-images (perfect ones, and the Wiener step with the clean ones as its
pilot) and each eigen-image's clean spread and error. ``--min-subspace`` (``results/denoise_min_subspace.md``, no
prior) rechecks ``subspace_tv``'s ``min_subspace`` on the training scenes with ``drop_white`` on.
``--noise-estimator`` (``results/denoise_noise_estimator.md``, no prior) measures ``subspace_tv``'s ``noise_method``s
against the added noise's own σ, with all bands and with few (every 6th and 20th band kept), and ``subspace_tv``'s
MPSNR with each.
``--self-supervised`` (``results/denoise_self_supervised.md``; ``--learned`` names the directory its priors go to)
scores the prior trained without clean data: by SURE on each scored noisy cube alone, one prior per scene, case and
noise seed (:data:`SELF_SUPERVISED_BUDGET`), each scoring the cube it trained on, the only data it saw.

``+ sparse``: the sparse corruption (stuck values, stripes, dead lines, impulses) repaired first
(``sparse: true``, ``spectraflow.methods.denoisers._sparse``), run on every case. Its thresholds are conventions
set once (3 σ, 5 standard errors, 20 × a band's median count) and not tuned, but its parts (stuck values, column
offsets, HySime's whitening of the repaired cube rather than the robust σ) were settled by hand on the scored
scenes' mixture case (seed 0), so its mixture rows here are not free of them; ``--training-scenes`` repeats the
comparison on scenes that chose nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.append(str(Path(__file__).resolve().parents[1] / ".peers"))

from spectraflow import datasets, methods  # noqa: E402
from spectraflow.metrics import denoising_scores  # noqa: E402
from spectraflow.synth import add_noise  # noqa: E402

CASES = [("Gaussian σ=30", "gaussian", {"sigma": 30}), ("Gaussian σ=50", "gaussian", {"sigma": 50}),
         ("non-i.i.d.", "noniid", {}), ("mixture", "mixture", {})]
#: ``subspace_tv`` without its Wiener step: the TV that ``subspace_learned``'s prior refines, and the baseline of the
#: prior's checks on the training scenes (their tables were measured against it before the step existed)
TV_ALONE: dict[str, object] = {"wiener": False}
#: ours by label: (method, configuration); "+ sparse": the sparse corruption repaired first (``sparse: true``)
OURS: dict[str, tuple[str, dict[str, object]]] = {
    "subspace_tv": ("subspace_tv", {}), "subspace_tv, TV alone": ("subspace_tv", TV_ALONE),
    "robust_subspace_tv": ("robust_subspace_tv", {}), "subspace_tv + sparse": ("subspace_tv", {"sparse": True}),
    "subspace_tv, white kept": ("subspace_tv", {"drop_white": False})}


SCORED = ("san_diego", "abu_urban_1", "abu_beach_2")
#: the never-scored scenes the prior trains on (and ``subspace_learned``'s ``min_subspace`` was chosen on)
TRAINING_SCENES = ("jasper_ridge", "samson", "abu_beach_3", "abu_urban_3")


def _training_stores(directory: Path, names: tuple[str, ...]) -> list[Path]:
    """Each named real scene scaled to [0, 1], preprocessed into a store with training patches (reused)."""
    from spectraflow.io import write_store
    from spectraflow.preprocess import PatchConfig, parse_steps, preprocess_store

    stores = []
    for name in names:
        store = directory / f"{name}-01.zarr"
        if not store.exists():
            raw = write_store(datasets.load(name)[["cube"]], directory / f"{name}.zarr")
            preprocess_store(raw, store, parse_steps([{"normalize": {"method": "minmax"}}]),
                             patches=PatchConfig(size=32, overlap=16, region=48, val_fraction=0.2))
        stores.append(store)
    return stores


def _curves(directory: Path) -> Path:
    return directory.parent / f"{directory.name}-curves.csv"


def _budget(directory: Path, what: str, history: object | None) -> str:
    """A line on what a checkpoint was trained on and for how long (``history``: None when it was reused)."""
    from spectraflow.train import read_checkpoint

    meta, _ = read_checkpoint(directory)
    took = "trained in an earlier run" if history is None else f"{history.train_seconds:.0f} s"  # type: ignore[attr-defined]
    rotations = f", {n} rotations per draw" if (n := meta["data"].get("mixtures")) else ""
    return (f"{meta['name']} ({directory.name}): {meta['config']}, {meta['train']['epochs']} epochs × "
            f"{meta['data']['steps']} steps × batch {meta['data']['batch_size']} ({what}{rotations}), {took} on "
            f"{meta['device']} ({meta['precision']}); best epoch {meta['epoch']}")


def _train_deep(directory: Path, epochs: int, steps: int, features: int) -> str:
    """Train qrnn3d on Jasper Ridge and Samson (scaled to [0, 1]); return a line describing the budget."""
    from spectraflow.methods.denoisers import DenoiserData, train_denoiser
    from spectraflow.train import TrainConfig, checkpoint_complete

    history = None
    if not checkpoint_complete(directory):  # absent, or a killed run's
        stores = _training_stores(directory.parent, ("jasper_ridge", "samson"))
        history = train_denoiser(stores, directory, network={"features": features, "levels": 2},
                                 train=TrainConfig(epochs=epochs, lr=2e-3),
                                 data=DenoiserData(batch_size=8, steps=steps, bands=31),
                                 noise=[{"case": case, **options} for _, case, options in CASES],
                                 curves=_curves(directory))
    return _budget(directory, "31-band windows of Jasper Ridge + Samson", history)


def _train_learned(directory: Path, seed: int, min_subspace: int | None = None, weight: float | None = None,
                   scenes: tuple[str, ...] = TRAINING_SCENES, mixtures: int | None = None) -> str:
    """Train subspace_learned's prior on real ``scenes`` that are never scored (the four training scenes unless one
    is held out; on the eigen-images of ``min_subspace``, the method's default when None, and of TV ``weight``,
    :data:`PRIOR_WEIGHT` when None, with ``mixtures`` rotations per draw, :data:`MIXTURES` when None); a line
    describing the budget."""
    from spectraflow.methods.denoisers import DenoiserData, train_denoiser
    from spectraflow.train import TrainConfig, checkpoint_complete

    history = None
    if not checkpoint_complete(directory):  # absent, or a killed run's
        stores = _training_stores(directory.parent, scenes)
        history = train_denoiser(stores, directory, model="subspace_learned", network={"width": 32, "depth": 8},
                                 train=TrainConfig(epochs=30, lr=2e-3, seed=seed),
                                 data=DenoiserData(batch_size=32, steps=100, draws=2,
                                                   mixtures=MIXTURES if mixtures is None else mixtures),
                                 noise=[{"case": case, **options} for _, case, options in CASES if case != "mixture"],
                                 subspace={"weight": PRIOR_WEIGHT if weight is None else weight,
                                           **({} if min_subspace is None else {"min_subspace": min_subspace})},
                                 curves=_curves(directory))
    return _budget(directory, f"eigen-image patches of {', '.join(scenes)}", history)


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


def _mean(runs: dict[str, list[tuple[dict[str, float], float]]], name: str, key: str = "mpsnr") -> float:
    return float(np.mean([scores[key] for scores, _ in runs[name]]))


def _row(label: str, runs: list[tuple[dict[str, float], float]]) -> str:
    def stat(key: str, digits: int) -> str:
        values = np.array([scores[key] for scores, _ in runs])
        return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"

    seconds = np.array([t for _, t in runs])
    return f"{label} | {stat('mpsnr', 2)} | {stat('mssim', 3)} | {stat('sam', 2)} | {seconds.mean():.1f} |"


def _scores(noisy: xr.DataArray, clean: np.ndarray, method: str, **config: object) -> dict[str, float]:
    """MPSNR, MSSIM, SAM of ``method`` (with ``config``) on ``noisy`` against ``clean``."""
    return denoising_scores(methods.get("denoise", method)(**config).denoise(noisy).values, clean)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--scenes", nargs="+", default=list(SCORED), choices=SCORED)
    parser.add_argument("--learned", type=Path,
                        help="directory of subspace_learned's checkpoints (trained there when absent)")
    parser.add_argument("--deep", type=Path, help="checkpoint directory of qrnn3d (trained there when absent)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--features", type=int, default=16)
    for flag, (_, _, about) in CHECKS.items():
        needs = "" if flag in PRIOR_FREE else " (needs --learned)"
        parser.add_argument(flag, action="store_true", help=f"only: {about}{needs}")
    parser.add_argument("--memory-check", action="store_true",
                        help="only: 400×400×224 through the --deep model, memory_mb=1024; peak RSS")
    args = parser.parse_args()
    if args.memory_check:
        _memory_check(args.deep)
        return
    chosen = [(flag, check) for flag, (check, _, _) in CHECKS.items() if getattr(args, flag[2:].replace("-", "_"))]
    if chosen:
        flag, check = chosen[0]
        if flag in PRIOR_FREE:
            check()
        elif args.learned is None:
            parser.error(f"{flag} needs --learned DIR")
        else:
            check(args.learned)
        return
    configs: dict[str, tuple[str, dict[str, object]]] = dict(OURS)
    per_seed: dict[int, dict[str, tuple[str, dict[str, object]]]] = {seed: {} for seed in args.seeds}
    if args.deep is not None:
        print(_train_deep(args.deep, args.epochs, args.steps, args.features))
        configs["qrnn3d"] = ("qrnn3d", {"checkpoint": str(args.deep)})
    if args.learned is not None:
        for seed in args.seeds:
            print(_train_learned(args.learned / f"seed-{seed}", seed), flush=True)
            prior = {"checkpoint": str(args.learned / f"seed-{seed}"), "weight": PRIOR_WEIGHT}
            per_seed[seed]["subspace_learned"] = ("subspace_learned", prior)
            per_seed[seed]["subspace_learned, network alone"] = _prior(args.learned / f"seed-{seed}")
            per_seed[seed]["subspace_learned + sparse"] = ("subspace_learned", {**prior, "sparse": True})
    peers = _hyde_methods()
    print(f"\nmean ± std over noise seeds {args.seeds} (the learned model's training seed follows the noise seed); "
          "seconds: wall clock")
    print("\n| scene | case | method | MPSNR dB | MSSIM | SAM° | s |")
    print("|---|---|---|---|---|---|---|")
    for scene in args.scenes:
        clean = datasets.unit_cube(scene)
        for label, case, options in CASES:
            runs: dict[str, list[tuple[dict[str, float], float]]] = {}
            for seed in args.seeds:
                noisy = add_noise(clean, case, seed, **options)
                runs.setdefault("noisy input", []).append((denoising_scores(noisy, clean), 0.0))
                for name, run in peers.items():
                    start = time.perf_counter()
                    out = np.asarray(run(noisy.copy()))
                    runs.setdefault(name, []).append((denoising_scores(out, clean), time.perf_counter() - start))
                for name, (method, config) in {**configs, **per_seed[seed]}.items():
                    start = time.perf_counter()
                    scores = _scores(xr.DataArray(noisy, dims=("y", "x", "band")), clean, method, **config)
                    runs.setdefault(f"spectraflow {name}", []).append((scores, time.perf_counter() - start))
            mean = partial(_mean, runs)
            best_peer = max(peers, key=mean)
            ours = [name for name in runs if name.startswith("spectraflow")]
            best_ours = max(ours, key=mean)
            for name in ["noisy input", best_peer, *[p for p in peers if p != best_peer], *ours]:
                tag = " (HyDe best)" if name == best_peer else ""
                print(f"| {scene} | {label} | " + _row(f"{name}{tag}", runs[name]))
            sam_verdict = "lower" if mean(best_ours, "sam") < mean(best_peer, "sam") else "HIGHER"
            print(f"| {scene} | {label} | **ours ({best_ours.removeprefix('spectraflow ')}) − HyDe best** | "
                  f"**{mean(best_ours) - mean(best_peer):+.2f}** | | {sam_verdict} | |")
            # issue 20's floors: the learned method over subspace_tv (over robust_subspace_tv for the mixture, where
            # the sparse repair comes first), and what the network adds to the TV it refines and to the same repaired
            # input
            pairs = ([("subspace_learned + sparse", "robust_subspace_tv"),
                      ("subspace_learned + sparse", "subspace_tv + sparse")] if case == "mixture"
                     else [("subspace_learned", "subspace_tv"), ("subspace_learned", "subspace_tv, TV alone")])
            for ahead, behind in pairs:
                if f"spectraflow {ahead}" not in runs:
                    continue
                a, b = f"spectraflow {ahead}", f"spectraflow {behind}"
                gains = [x[0]["mpsnr"] - y[0]["mpsnr"] for x, y in zip(runs[a], runs[b], strict=True)]
                sam_verdict = "lower" if mean(a, "sam") < mean(b, "sam") else "HIGHER"
                print(f"| {scene} | {label} | **{ahead} − {behind}** | **{np.mean(gains):+.2f} ± "
                      f"{np.std(gains):.2f}** | | {sam_verdict} | |", flush=True)


SUBSPACE_CANDIDATES = (2, 3, 4, 6, 8, 10)
SELECTION_NOISE_SEED = 7  # none of the training draws' seeds (seed + 1000 × case + draw)
#: a column of the training-scene tables: (method, config)
Column = tuple[str, dict[str, object]]
#: the columns by label, or a function of (scene, noise kind, its options, the noisy cube) giving them
Columns = dict[str, Column] | Callable[[str, str, dict[str, object], xr.DataArray], dict[str, Column]]
#: what the tables of :func:`_training_scene_gains` hold
GAINS = f"MPSNR gain (dB) over subspace_tv, TV alone (SAM change, degrees), noise seed {SELECTION_NOISE_SEED}"
#: the TV weights of the prior's input tried on the training scenes (``--prior-weight``), after ``min_subspace``
WEIGHT_CANDIDATES = (0.7, 0.4, 0.2)
#: the TV weight of the prior's input at this budget (chosen by ``--prior-weight``); the library's default stays
#: ``subspace_tv``'s 0.7, which a prior trained for a few hundred steps (the default pipeline's) needs
PRIOR_WEIGHT = 0.4
#: random rotations of each noise draw's eigen-images added to the prior's training patches (``DenoiserData.mixtures``),
#: chosen on the training scenes, each held out (``--mixtures``)
MIXTURES = 6
MIXTURE_CANDIDATES = (0, MIXTURES)


def _selection_prior(learned: Path, min_subspace: int, weight: float) -> Path:
    """The seed-0 prior of the training-scene checks with these eigen-image settings (the scored run's own seed-0
    prior at the defaults of this budget)."""
    if (min_subspace, weight) == (methods.get("denoise", "subspace_learned").min_subspace, PRIOR_WEIGHT):
        return learned / "seed-0"
    return learned / f"seed-0-min{min_subspace}-weight{weight}"


def _prior(directory: Path, **settings: object) -> tuple[str, dict[str, object]]:
    """``subspace_learned`` with the prior in ``directory``, its input's TV at :data:`PRIOR_WEIGHT` and its network
    alone (``wiener_share: 0``: the checks on the training scenes chose the network's settings before it was averaged
    with ``subspace_tv``, stop 69) unless ``settings`` say otherwise."""
    return "subspace_learned", {"checkpoint": str(directory), "weight": PRIOR_WEIGHT, "wiener_share": 0.0, **settings}


def _training_scene_gains(columns: Columns, scenes: tuple[str, ...] = TRAINING_SCENES) -> dict[str, float]:
    """Each column's ``(method, config)`` MPSNR gain over ``subspace_tv``'s TV alone (:data:`TV_ALONE`; SAM change) on
    ``scenes`` (the four training scenes), noise seed :data:`SELECTION_NOISE_SEED`, in the Gaussian and non-i.i.d.
    cases: printed per scene and case, then the mean per case; returned as the mean over the cases per column.
    ``columns`` may be a function of the scene, the case's noise kind and options, and the noisy cube, for columns
    that change with the case (a prior trained on that noisy cube)."""
    gains: dict[tuple[str, str], list[float]] = {}
    columns_of = columns if callable(columns) else lambda *_: columns
    for scene in scenes:
        clean = datasets.unit_cube(scene)
        for label, case, options in CASES:
            if case == "mixture":
                continue
            noisy = xr.DataArray(add_noise(clean, case, SELECTION_NOISE_SEED, **options), dims=("y", "x", "band"))
            runs = columns_of(scene, case, options, noisy)
            if not gains:
                print("| scene | case | subspace_tv, TV alone dB | " + " | ".join(runs) + " |")
                print("|---|---|---|" + "---|" * len(runs))
            plain = _scores(noisy, clean, "subspace_tv", **TV_ALONE)
            cells = []
            for column, (method, config) in runs.items():
                got = _scores(noisy, clean, method, **config)
                gains.setdefault((label, column), []).append(got["mpsnr"] - plain["mpsnr"])
                cells.append(f"{got['mpsnr'] - plain['mpsnr']:+.2f} ({got['sam'] - plain['sam']:+.2f}°)")
            print(f"| {scene} | {label} | {plain['mpsnr']:.2f} | " + " | ".join(cells) + " |", flush=True)
    names = list(dict.fromkeys(column for _, column in gains))
    labels = list(dict.fromkeys(label for label, _ in gains))
    for label in labels:
        print(f"| **mean** | {label} | | " + " | ".join(f"**{np.mean(gains[label, c]):+.2f}**" for c in names)
              + " |")
    return {c: float(np.mean([np.mean(gains[label, c]) for label in labels])) for c in names}


def prior_weight_selection(learned: Path) -> None:
    """The TV weight of the prior's input, chosen on the four training scenes (noise seed
    :data:`SELECTION_NOISE_SEED`, seed-0 priors trained there when absent, ``min_subspace`` at its default): the
    mean MPSNR gain over ``subspace_tv`` at its default weight, beside ``subspace_tv`` run at that weight itself
    (so the gain is the network's, not TV's)."""
    k = methods.get("denoise", "subspace_learned").min_subspace
    priors = {w: _selection_prior(learned, k, w) for w in WEIGHT_CANDIDATES}
    for w, directory in priors.items():
        print(_train_learned(directory, 0, weight=w), flush=True)
    print(f"\n{GAINS}, TV at weight {methods.get('denoise', 'subspace_tv').weight}, on the training scenes: "
          "subspace_learned with its input's TV at each weight (prior trained on it), and subspace_tv at that weight\n")
    overall = _training_scene_gains({
        column: config for w in WEIGHT_CANDIDATES
        for column, config in ((f"learned {w}", _prior(priors[w], weight=w)),
                               (f"subspace_tv {w}", ("subspace_tv", {**TV_ALONE, "weight": w})))})
    learned_gain = {w: overall[f"learned {w}"] for w in WEIGHT_CANDIDATES}
    print("\nmean over the cases, subspace_learned: "
          + ", ".join(f"weight {w}: {v:+.3f}" for w, v in learned_gain.items())
          + f"; the largest: {max(learned_gain, key=learned_gain.__getitem__)} (PRIOR_WEIGHT: {PRIOR_WEIGHT})")


def _held_out_prior(learned: Path, scene: str, mixtures: int = MIXTURES) -> Path:
    """The seed-0 prior trained on the training scenes but ``scene``, with ``mixtures`` rotations per draw (trained
    when absent; its budget printed): ``learned/held-out-<scene>`` at :data:`MIXTURES`, ``…-mixtures<n>`` else."""
    directory = learned / (f"held-out-{scene}" if mixtures == MIXTURES else f"held-out-{scene}-mixtures{mixtures}")
    print(_train_learned(directory, 0, scenes=tuple(s for s in TRAINING_SCENES if s != scene), mixtures=mixtures),
          flush=True)
    return directory


def held_out_checks(learned: Path) -> None:
    """Transfer to a scene the prior never saw, measured on the training scenes themselves: each one scored with a
    seed-0 prior trained on the other three (``learned/held-out-<scene>``, the same budget), beside the seed-0 prior
    trained on all four (which saw the scene's clean cube, under other noise draws). ``min_subspace`` and the
    weight were chosen on these scenes, so the held-out gains are not free of them."""
    print(_train_learned(learned / "seed-0", 0), flush=True)
    summary = []
    for scene in TRAINING_SCENES:
        directory = _held_out_prior(learned, scene)
        print(f"\n{scene}: {GAINS}\n")
        gains = _training_scene_gains({"held out (trained on the other three)": _prior(directory),
                                       "trained on all four": _prior(learned / "seed-0")}, scenes=(scene,))
        held, seen = gains.values()
        summary.append(f"| {scene} | {held:+.3f} | {seen:+.3f} | {held - seen:+.3f} |")
    print("\nmean gain over the three cases:\n\n| scene | held out | trained on it | held out − trained on it |")
    print("|---|---|---|---|")
    print("\n".join(summary))


def mixtures_selection(learned: Path) -> None:
    """The rotations per noise draw (:data:`MIXTURE_CANDIDATES`) added to the prior's training patches, chosen by
    transfer: each training scene scored by seed-0 priors trained on the other three with each count
    (:func:`_held_out_prior`)."""
    summary = []
    for scene in TRAINING_SCENES:
        priors = {n: _held_out_prior(learned, scene, n) for n in MIXTURE_CANDIDATES}
        print(f"\n{scene}, held out: {GAINS}, by the rotations per draw the prior trained with\n")
        gains = _training_scene_gains({f"mixtures {n}": _prior(d) for n, d in priors.items()}, scenes=(scene,))
        summary.append(f"| {scene} | " + " | ".join(f"{v:+.3f}" for v in gains.values()) + " |")
    print("\nmean gain over the three cases, each scene held out:\n\n| scene | "
          + " | ".join(f"mixtures {n}" for n in MIXTURE_CANDIDATES) + " |")
    print("|---|" + "---|" * len(MIXTURE_CANDIDATES))
    print("\n".join(summary))


def wiener_selection(learned: Path) -> None:
    """``subspace_tv``'s Wiener step (``wiener: true``: a sliding-DCT Wiener filter of the eigen-images with TV's
    result the pilot) on the four training scenes, against ``subspace_tv`` without it, beside each scene's held-out
    prior (:func:`_held_out_prior`: the learned method on a scene it never saw)."""
    summary = []
    for scene in TRAINING_SCENES:
        directory = _held_out_prior(learned, scene)
        print(f"\n{scene}: {GAINS}\n")
        gains = _training_scene_gains({"subspace_tv + wiener": ("subspace_tv", {"wiener": True}),
                                       "subspace_learned, held out": _prior(directory)}, scenes=(scene,))
        summary.append(f"| {scene} | " + " | ".join(f"{v:+.3f}" for v in gains.values()) + " |")
    print("\nmean gain over the three cases:\n\n| scene | subspace_tv + wiener | subspace_learned, held out |")
    print("|---|---|---|")
    print("\n".join(summary))
    print(f"\nMixture, noise seed {SELECTION_NOISE_SEED}: MPSNR dB (SAM), without and with the Wiener step\n")
    print("| scene | subspace_tv, TV alone | subspace_tv + wiener | + sparse, TV alone | + sparse + wiener |")
    print("|---|---|---|---|---|")
    for scene in TRAINING_SCENES:
        clean = datasets.unit_cube(scene)
        noisy = xr.DataArray(add_noise(clean, "mixture", SELECTION_NOISE_SEED), dims=("y", "x", "band"))
        cells = [_scores(noisy, clean, "subspace_tv", sparse=sparse, wiener=wiener)
                 for sparse in (False, True) for wiener in (False, True)]
        print(f"| {scene} | " + " | ".join(f"{c['mpsnr']:.2f} ({c['sam']:.2f}°)" for c in cells) + " |", flush=True)


#: ``subspace_learned``'s ``wiener_share`` candidates (the share of ``subspace_tv``'s own eigen-images in the average
#: with the network's; "sure": each eigen-image's own, by Stein's unbiased risk estimate), chosen on the training
#: scenes over held-out supervised and self-supervised priors (``--wiener-share``)
WIENER_SHARES = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, "sure")


def wiener_share_selection(learned: Path) -> None:
    """``subspace_learned``'s ``wiener_share``, chosen by transfer on the training scenes for both kinds of prior the
    ``train_denoise`` stage makes: each scene scored by its held-out supervised prior (:func:`_held_out_prior`) and,
    in each case, by a self-supervised prior trained on that noisy cube alone
    (``learned/train-self-<scene>-<case>-<seed>``, the ``--self-supervised`` budget), averaged with ``subspace_tv``'s
    own eigen-images at each share, beside ``subspace_tv`` (its Wiener step, TV at its own weight). The default is the
    share with the highest mean of the two kinds' mean gains."""
    supervised: dict[str, list[float]] = {}
    for scene in TRAINING_SCENES:
        directory = _held_out_prior(learned, scene)
        print(f"\n{scene}: {GAINS}; subspace_learned held out, by wiener_share\n")
        columns = {"subspace_tv": ("subspace_tv", {}), **{
            f"share {share}": _prior(directory, wiener_share=share) for share in WIENER_SHARES}}
        for column, gain in _training_scene_gains(columns, scenes=(scene,)).items():
            supervised.setdefault(column, []).append(gain)
    print("\nmean gain over the three cases, each scene held out:\n\n| scene | " + " | ".join(supervised) + " |")
    print("|---|" + "---|" * len(supervised))
    for i, scene in enumerate(TRAINING_SCENES):
        print(f"| {scene} | " + " | ".join(f"{v[i]:+.3f}" for v in supervised.values()) + " |")
    kinds = {"supervised, held out": {column: float(np.mean(v)) for column, v in supervised.items()},
             "self-supervised": _self_supervised_share_gains(learned)}
    print("\nmean gain over the training scenes and cases, by the kind of prior:\n\n| prior | "
          + " | ".join(kinds["supervised, held out"]) + " |")
    print("|---|" + "---|" * len(kinds["supervised, held out"]))
    for kind, means in kinds.items():
        print(f"| {kind} | " + " | ".join(f"{v:+.3f}" for v in means.values()) + " |")
    both = {share: float(np.mean([means[f"share {share}"] for means in kinds.values()])) for share in WIENER_SHARES}
    print("| **mean of the two** | | " + " | ".join(f"**{v:+.3f}**" for v in both.values()) + " |")
    print(f"\nthe largest: wiener_share {max(both, key=both.__getitem__)} (subspace_learned's default: "
          f"{methods.get('denoise', 'subspace_learned').wiener_share})")


def _self_supervised_share_gains(learned: Path) -> dict[str, float]:
    """Each training scene and case at the selection noise seed, with a self-supervised prior trained on that noisy
    cube (``learned/train-self-<scene>-<case>-<seed>``): the MPSNR gain over ``subspace_tv``'s TV alone of
    ``subspace_tv`` and of the prior at each of :data:`WIENER_SHARES` (:func:`_training_scene_gains`)."""
    seed = SELECTION_NOISE_SEED

    def columns(scene: str, case: str, options: dict[str, object], noisy: xr.DataArray) -> dict[str, Column]:
        directory = learned / f"train-self-{scene}-{case}{options.get('sigma', '')}-{seed}"
        _self_supervised_prior(directory, datasets.load(scene)["cube"].copy(data=noisy.values), seed)
        return {"subspace_tv": ("subspace_tv", {}),
                **{f"share {share}": _prior(directory, wiener_share=share) for share in WIENER_SHARES}}

    print(f"\nself-supervised priors ({SELF_SUPERVISED_BUDGET}, each trained on the noisy cube it denoises): {GAINS}\n")
    return _training_scene_gains(columns)


#: the scored scene below issue 20's floor, for :func:`seen_ceiling`
CEILING_SCENE = "abu_urban_1"


def seen_ceiling(learned: Path, scene: str = CEILING_SCENE) -> None:
    """What the prior reaches on a scored ``scene`` once it has trained on that scene's clean cube: a ceiling for
    this network and budget there, not a score (the scored run's priors never see it). Seed-0 priors of the scored
    run's budget, trained on the four training scenes and ``scene`` (``learned/seen-<scene>``) and on ``scene``
    alone (``learned/only-<scene>``), beside the scored run's seed-0 prior, at the selection noise seed: each as the
    network alone and as the scored method (averaged with ``subspace_tv``'s own eigen-images, ``wiener_share`` at its
    default), beside ``subspace_tv``."""
    priors = {"never saw it (the scored prior)": learned / "seed-0", "trained on the four and on it":
              learned / f"seen-{scene}", "trained on it alone": learned / f"only-{scene}"}
    for directory, scenes in zip(priors.values(), (TRAINING_SCENES, (*TRAINING_SCENES, scene), (scene,)),
                                 strict=True):
        print(_train_learned(directory, 0, scenes=scenes), flush=True)
    share = methods.get("denoise", "subspace_learned").wiener_share
    columns = {"subspace_tv": ("subspace_tv", {}),
               **{f"{label}, alone": _prior(d) for label, d in priors.items()},
               **{f"{label}, averaged": _prior(d, wiener_share=share) for label, d in priors.items()}}
    print(f"\n{scene}: {GAINS}, by what the prior trained on, its network alone and averaged (wiener_share {share}, "
          "the scored method); issue 20's floor: +0.5 over subspace_tv\n")
    gains = _training_scene_gains(columns, scenes=(scene,))
    print("\nmean over the three cases, over subspace_tv: " + ", ".join(
        f"{column}: {gain - gains['subspace_tv']:+.2f}" for column, gain in gains.items() if column != "subspace_tv"))


INFERENCE_SHAPE = (256, 256, 200)  # issue 20's inference floor: at most 60 s for a cube of this size on 2 cores


def inference_time(learned: Path, repeats: int = 3) -> None:
    """Wall-clock seconds of ``subspace_learned`` (the seed-0 prior) on a generated cube of
    :data:`INFERENCE_SHAPE` (``synthetic_scene``, seed 0, its first bands, Gaussian σ 30), self-ensembled and run
    once, against ``subspace_tv`` in the same run: the fastest of ``repeats`` runs each."""
    from spectraflow.synth import synthetic_scene

    print(_train_learned(learned / "seed-0", 0), flush=True)
    height, width, bands = INFERENCE_SHAPE
    cube = synthetic_scene(0, height=height, width=width)["cube"].values[..., :bands].astype(np.float64)
    clean = (cube - cube.min()) / (cube.max() - cube.min())
    noisy = xr.DataArray(add_noise(clean, "gaussian", 0, sigma=30), dims=("y", "x", "band"))
    prior = {"checkpoint": str(learned / "seed-0"), "weight": PRIOR_WEIGHT}
    runs = {"subspace_tv": ("subspace_tv", {}), "subspace_learned": ("subspace_learned", prior),
            "subspace_learned, run once": ("subspace_learned", {**prior, "self_ensemble": False})}
    print(f"\n{height}×{width}×{bands} float32 cube, Gaussian σ 30; wall seconds, fastest of {repeats}, and against "
          "subspace_tv in this run (the floor: 60 s)\n")
    print("| method | MPSNR dB | s | × subspace_tv |")
    print("|---|---|---|---|")
    seconds: dict[str, float] = {}
    for name, (method, config) in runs.items():
        denoiser = methods.get("denoise", method)(**config)
        took = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = denoiser.denoise(noisy).values
            took.append(time.perf_counter() - start)
        seconds[name] = min(took)
        print(f"| {name} | {denoising_scores(out, clean)['mpsnr']:.2f} | {seconds[name]:.1f} | "
              f"{seconds[name] / seconds['subspace_tv']:.1f} |", flush=True)


def training_scene_checks(learned: Path) -> None:
    """What was decided on the four training scenes, with seed-0 priors in ``learned`` (trained there when
    absent): ``subspace_learned``'s gain over ``subspace_tv`` by ``min_subspace`` (each with a prior trained on
    that subspace's eigen-images) and, at the default, without the self-ensemble; ``subspace_tv`` itself at the
    other ``min_subspace``; then the mixture case."""
    default = methods.get("denoise", "subspace_learned").min_subspace
    priors = {k: _selection_prior(learned, k, PRIOR_WEIGHT) for k in SUBSPACE_CANDIDATES}
    for k, directory in priors.items():
        print(_train_learned(directory, 0, k), flush=True)
    columns: dict[str, tuple[str, dict[str, object]]] = {
        **{f"min_subspace {k}": _prior(priors[k], min_subspace=k) for k in SUBSPACE_CANDIDATES},
        f"min_subspace {default}, once": _prior(priors[default], self_ensemble=False),
        **{f"subspace_tv, min_subspace {k}": ("subspace_tv", {**TV_ALONE, "min_subspace": k})
           for k in SUBSPACE_CANDIDATES if k != default}}
    print(f"\n{GAINS}: "
          f"subspace_learned (its input's TV at weight {PRIOR_WEIGHT}) by min_subspace (self-ensembled) and at the "
          "default run once (self_ensemble: false); then subspace_tv itself at the other min_subspace:\n")
    overall = _training_scene_gains(columns)
    learned_gain = {c: v for c, v in overall.items() if columns[c][0] == "subspace_learned"}
    print("\nmean over the cases: " + ", ".join(f"{c}: {v:+.3f}" for c, v in overall.items())
          + f"; subspace_learned's largest: {max(learned_gain, key=learned_gain.__getitem__)} (the default: "
          f"min_subspace {default}, self-ensembled)")
    mixture: list[str] = []
    for scene in TRAINING_SCENES:
        clean = datasets.unit_cube(scene)
        noisy = xr.DataArray(add_noise(clean, "mixture", SELECTION_NOISE_SEED), dims=("y", "x", "band"))
        scores = partial(_scores, noisy, clean)
        runs = {"robust_subspace_tv": scores("robust_subspace_tv"),
                "subspace_tv + sparse": scores("subspace_tv", sparse=True),
                "subspace_learned + sparse": scores("subspace_learned", **_prior(priors[default], sparse=True)[1])}
        ahead = runs["subspace_learned + sparse"]["mpsnr"] - runs["robust_subspace_tv"]["mpsnr"]
        cells = [f"{s['mpsnr']:.2f} ({s['sam']:.2f}°)" for s in runs.values()]
        mixture.append(f"| {scene} | " + " | ".join(cells) + f" | {ahead:+.2f} |")
    print(f"\nMixture, noise seed {SELECTION_NOISE_SEED}: MPSNR dB (SAM):\n")
    print("| scene | robust_subspace_tv | subspace_tv + sparse | subspace_learned + sparse | "
          "learned + sparse − robust |")
    print("|---|---|---|---|---|")
    print("\n".join(mixture))


#: fresh generated scenes (seed, sensor) that score the pipeline prior's settings: none is its training scene
LIBRARY_SCENES = ((10, "aviris"), (11, "enmap"), (12, "camera31"), (13, "aviris"), (14, "enmap"))


def library_prior(learned: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """The settings of the short prior the default pipeline trains (``params.yaml``'s ``train_denoise`` budget, on
    its training scene as the generator makes it, scaled to [0, 1], cut by its ``preprocess.patches``): the input's
    TV ``weight`` (``subspace_learned``'s library default, ``subspace_tv``'s 0.7) over :data:`WEIGHT_CANDIDATES`
    without rotations, then the rotations per draw (``data.mixtures``) at the default weight: priors
    ``learned/library-weight<w>-mixtures<n>-seed<s>``, scored on :data:`LIBRARY_SCENES` (128×128, the camera's
    64×64) in the Gaussian and non-i.i.d. cases against ``subspace_tv`` at its default."""
    from spectraflow.config import PreprocessConfig, TrainDenoiseConfig, from_mapping, load_params
    from spectraflow.io import write_store
    from spectraflow.methods.denoisers import train_denoiser
    from spectraflow.preprocess import parse_steps, preprocess_store
    from spectraflow.synth import synthetic_scene
    from spectraflow.train import checkpoint_complete

    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    config = from_mapping(TrainDenoiseConfig, params["train_denoise"], "train_denoise")
    patches = from_mapping(PreprocessConfig, params["preprocess"], "preprocess").patch_config()
    train, data = config.settings()
    learned.mkdir(parents=True, exist_ok=True)
    store = learned / f"library-{config.scene}-01.zarr"
    if not store.exists():
        raw = write_store(synthetic_scene(**params["synth"]["scenes"][config.scene])[["cube"]],
                          learned / f"library-{config.scene}.zarr")
        preprocess_store(raw, store, parse_steps([{"normalize": {"method": "minmax", "per_band": False}}]),
                         patches=patches)
    default = methods.get("denoise", "subspace_learned").weight
    columns = {**{f"weight {w}": (w, 0) for w in WEIGHT_CANDIDATES},
               f"weight {default}, {MIXTURES} rotations": (default, MIXTURES)}
    priors = {(c, seed): learned / f"library-weight{w}-mixtures{n}-seed{seed}"
              for c, (w, n) in columns.items() for seed in seeds}
    for (c, seed), directory in priors.items():
        if not checkpoint_complete(directory):
            weight, mixtures = columns[c]
            history = train_denoiser([store], directory, model=config.model, network=config.network,
                                     train=dataclasses.replace(train, seed=seed),
                                     data=dataclasses.replace(data, mixtures=mixtures), noise=config.noise,
                                     subspace={**config.subspace, "weight": weight}, progress=False)
            print(f"{c}, seed {seed}: {history.train_seconds:.0f} s", flush=True)
    print(f"\nsubspace_learned at the pipeline's budget ({config.network}, {train.epochs} epochs × {data.steps} steps "
          f"× batch {data.batch_size}, trained on the generated scene {config.scene!r}): MPSNR gain (dB) over "
          f"subspace_tv, TV alone, on fresh generated scenes, mean ± std over training seeds {list(seeds)}, by the "
          "input's TV weight and the rotations per draw\n")
    print("| scene | case | subspace_tv, TV alone dB | " + " | ".join(columns) + " |")
    print("|---|---|---|" + "---|" * len(columns))
    gains: dict[str, list[float]] = {c: [] for c in columns}
    for seed, sensor in LIBRARY_SCENES:
        size = 64 if sensor == "camera31" else 128
        cube = synthetic_scene(seed, height=size, width=size, sensor=sensor)["cube"].values.astype(np.float64)
        clean = (cube - cube.min()) / (cube.max() - cube.min())
        for label, case, options in CASES:
            if case == "mixture":
                continue
            noisy = xr.DataArray(add_noise(clean, case, seed, **options), dims=("y", "x", "band"))
            plain = _scores(noisy, clean, "subspace_tv", **TV_ALONE)["mpsnr"]
            cells = []
            for c, (weight, _) in columns.items():
                runs = [_scores(noisy, clean, "subspace_learned", **_prior(priors[c, s], weight=weight)[1])["mpsnr"]
                        - plain for s in seeds]
                gains[c].append(float(np.mean(runs)))
                cells.append(f"{np.mean(runs):+.2f} ± {np.std(runs):.2f}")
            print(f"| {sensor} (seed {seed}) | {label} | {plain:.2f} | " + " | ".join(cells) + " |", flush=True)
    print("\nmean: " + ", ".join(f"{c}: {np.mean(v):+.3f}" for c, v in gains.items())
          + f" (the library's default weight: {default}; params.yaml's rotations: {data.mixtures})")


def white_check(seeds: tuple[int, ...] = (0, 1, 2, SELECTION_NOISE_SEED)) -> None:
    """``subspace_tv``'s ``drop_white`` test on the training scenes and the scored ones: per scene, case and noise
    seed, each eigen-image's correlation between horizontal neighbours (left out where at most the threshold
    3/√pairs) and the MPSNR (SAM) without and with the test."""
    from spectraflow.methods.denoisers.subspace_tv import neighbour_correlation, white_test_stride
    from spectraflow.preprocess import band_statistics

    kept = methods.get("denoise", "subspace_tv")(drop_white=False)
    print(f"noise seeds {list(seeds)}; eigen-images of subspace_tv's subspace (at least min_subspace "
          f"{kept.min_subspace}), those left out in bold\n")
    print("| scene | case | seed | neighbour correlation (threshold) | white kept dB (SAM°) | white left out dB (SAM°) "
          "| gain dB |")
    print("|---|---|---|---|---|---|---|")
    gains: dict[str, list[float]] = {}
    for scene in (*TRAINING_SCENES, *SCORED):
        clean = datasets.unit_cube(scene)
        for label, case, options in CASES[:3]:
            for seed in seeds:
                noisy = xr.DataArray(add_noise(clean, case, seed, **options), dims=("y", "x", "band"))
                stats = band_statistics(noisy, gram=True, shift_difference=True,  # the method's own pass
                                        difference_stride=white_test_stride(noisy.shape))
                # each eigen-image is the cube's pixels times a column of `project`; a correlation ignores its scale
                correlation = neighbour_correlation(stats, kept.subspace_of(noisy).project.astype(np.float64))
                threshold = 3 / np.sqrt(stats.diff_count)
                cells = [f"**{c:.3f}**" if c <= threshold and i else f"{c:.3f}" for i, c in enumerate(correlation)]
                before, after = (_scores(noisy, clean, "subspace_tv", drop_white=flag) for flag in (False, True))
                gains.setdefault(scene, []).append(after["mpsnr"] - before["mpsnr"])
                print(f"| {scene} | {label} | {seed} | {' / '.join(cells)} ({threshold:.3f}) | {before['mpsnr']:.2f} "
                      f"({before['sam']:.2f}) | {after['mpsnr']:.2f} ({after['sam']:.2f}) | "
                      f"{after['mpsnr'] - before['mpsnr']:+.3f} |", flush=True)
    print("\nmean gain per scene: " + ", ".join(f"{scene} {np.mean(g):+.3f}" for scene, g in gains.items()))


#: the least numbers of eigen-images ``subspace_tv``'s ``min_subspace`` is rechecked over (``--min-subspace``)
MIN_SUBSPACES = (2, 3, 4, 5, 6, 8)


def min_subspace_check() -> None:
    """``subspace_tv``'s ``min_subspace`` (chosen at stop 65, before ``drop_white``) rechecked with the test on: its
    gain over TV alone at each of :data:`MIN_SUBSPACES` on the four training scenes (noise seed
    :data:`SELECTION_NOISE_SEED`), the mean over the cases last."""
    gains = _training_scene_gains({f"at least {k}": ("subspace_tv", {"min_subspace": k}) for k in MIN_SUBSPACES})
    default = methods.get("denoise", "subspace_tv").min_subspace
    print("\nmean gain over the cases: " + ", ".join(f"{c} {g:+.3f}" for c, g in gains.items())
          + f"; the largest: {max(gains, key=gains.__getitem__)} (the default: at least {default})")


def eigen_image_bounds(subspaces: tuple[int, ...] = (4, 6, 8, 14)) -> None:
    """What limits any denoiser of ``subspace_tv``'s eigen-images, on the scored scenes (noise seed 0; oracles, a
    diagnosis and never a score): the MPSNR gain over ``subspace_tv`` of the clean cube's own eigen-images on its basis
    (fitted to the noisy cube, as always), and on the first ``subspaces`` directions of that fit (none left out); of its
    Wiener step given the clean eigen-images as its pilot; then each eigen-image's clean spread and ``subspace_tv``'s
    error (in units of the noise)."""
    from spectraflow.methods.denoisers._wiener import dct_wiener

    method = methods.get("denoise", "subspace_tv")()
    print("| scene | case | subspace_tv dB | perfect eigen-images | on the first " + " / ".join(map(str, subspaces))
          + " directions | Wiener, clean pilot | clean spread per eigen-image | subspace_tv's error (variance) |")
    print("|---|---|---|---|---|---|---|---|")
    for scene in SCORED:
        clean = datasets.unit_cube(scene)
        clean32 = clean.astype(np.float32)
        for label, case, options in CASES[:3]:
            noisy = xr.DataArray(add_noise(clean, case, 0, **options), dims=("y", "x", "band"))
            space = method.subspace_of(noisy)
            images, truth = space.eigen_images(noisy.values), space.eigen_images(clean32)
            ours = method.smooth(images)
            base = denoising_scores(space.cube(ours), clean)["mpsnr"]
            wider = [methods.get("denoise", "subspace_tv")(subspace=k, drop_white=False).subspace_of(noisy)
                     for k in subspaces]
            oracles = [space.cube(truth), *(s.cube(s.eigen_images(clean32)) for s in wider),
                       space.cube(dct_wiener(images, truth))]  # perfect eigen-images, then the clean pilot
            *perfect, piloted = [denoising_scores(cube, clean)["mpsnr"] - base for cube in oracles]
            spread = truth.reshape(space.k, -1).std(axis=1)
            error = ((ours - truth) ** 2).reshape(space.k, -1).mean(axis=1)
            cells = [f"{base:.2f}", f"{perfect[0]:+.2f}", " / ".join(f"{g:+.2f}" for g in perfect[1:]),
                     f"{piloted:+.2f}", " / ".join(f"{v:.2f}" for v in spread), " / ".join(f"{v:.3f}" for v in error)]
            print(f"| {scene} | {label} | " + " | ".join(cells) + " |", flush=True)


#: the self-supervised prior's budget (``--self-supervised``): the scored prior's network, a twelfth of its patches
#: seen (each step of SURE costs two TV passes and two forward passes), so that one prior per scene, case and noise
#: seed fits a session: cut from a probe at 4× this for its time (931 s on a shared CPU; its score, in
#: ``subspace_learned``'s docstring, was higher), never for a score
SELF_SUPERVISED_BUDGET = {"network": {"width": 32, "depth": 8}, "epochs": 10, "steps": 50, "batch_size": 16}


def _self_supervised_prior(directory: Path, noisy: xr.DataArray, seed: int) -> str:
    """Train ``subspace_learned``'s prior by SURE on ``noisy`` alone (a scene's cube with its coordinates;
    ``mode="self_supervised"``: no clean data, the noise taken as it is) into ``directory`` (reused when complete); a
    line describing the budget."""
    from spectraflow.io import write_store
    from spectraflow.methods.denoisers import DenoiserData, train_denoiser
    from spectraflow.preprocess import PatchConfig, preprocess_store
    from spectraflow.train import TrainConfig, checkpoint_complete

    history = None
    if not checkpoint_complete(directory):
        raw = write_store(xr.Dataset({"cube": noisy.astype(np.float32)}),
                          directory.parent / f"{directory.name}-noisy.zarr")
        store = preprocess_store(raw, directory.parent / f"{directory.name}-patches.zarr", [],
                                 patches=PatchConfig(size=32, overlap=16, region=48, val_fraction=0.2))
        budget = SELF_SUPERVISED_BUDGET
        history = train_denoiser(store, directory, model="subspace_learned", mode="self_supervised",
                                 network=budget["network"],
                                 train=TrainConfig(epochs=budget["epochs"], lr=2e-3, seed=seed),
                                 data=DenoiserData(batch_size=budget["batch_size"], steps=budget["steps"]),
                                 subspace={"weight": PRIOR_WEIGHT}, curves=_curves(directory), progress=False)
    return _budget(directory, "eigen-image patches of the noisy cube it denoises", history)


def self_supervised_scores(learned: Path, seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """Issue 20's self-supervised path on the scored scenes: for each scene, Gaussian and non-i.i.d. case and noise
    seed, a prior trained by SURE on that noisy cube alone (it sees nothing else, and denoises what it trained on:
    no clean data, no other scene), scored as the network alone and averaged with ``subspace_tv`` (the method's
    default ``wiener_share``, and the fixed 0.4 that was the default until stop 76), beside ``subspace_tv`` and its TV
    alone; mean ± std over the seeds."""
    print(f"self-supervised priors: {SELF_SUPERVISED_BUDGET}, lr 2e-3, TV weight {PRIOR_WEIGHT}; one per scene, case "
          "and noise seed, each trained on the noisy cube it then denoises (its only data)\n")
    columns = {"subspace_tv, TV alone": ("subspace_tv", TV_ALONE), "subspace_tv": ("subspace_tv", {})}
    rows = []
    for scene in SCORED:
        clean, like = datasets.unit_cube(scene), datasets.load(scene)["cube"]
        for label, case, options in CASES[:3]:
            runs: dict[str, list[tuple[dict[str, float], float]]] = {}
            for seed in seeds:
                noisy = add_noise(clean, case, seed, **options)
                directory = learned / f"self-{scene}-{case}{options.get('sigma', '')}-{seed}"
                print(_self_supervised_prior(directory, like.copy(data=noisy), seed), flush=True)
                prior = {"checkpoint": str(directory), "weight": PRIOR_WEIGHT}
                ours = {**columns, "self-supervised, network alone": _prior(directory),
                        "self-supervised, averaged at 0.4": _prior(directory, wiener_share=0.4),
                        "self-supervised, averaged": ("subspace_learned", prior)}
                for name, (method, config) in ours.items():
                    start = time.perf_counter()
                    scores = _scores(xr.DataArray(noisy, dims=("y", "x", "band")), clean, method, **config)
                    runs.setdefault(name, []).append((scores, time.perf_counter() - start))
            rows.append((scene, label, runs))
    print("\nmean ± std over noise seeds; seconds: wall clock of denoising (training not included)\n")
    print("| scene | case | method | MPSNR dB | MSSIM | SAM° | s |")
    print("|---|---|---|---|---|---|---|")
    for scene, label, runs in rows:
        for name, runs_of in runs.items():
            print(f"| {scene} | {label} | " + _row(name, runs_of))
        for ahead in [name for name in runs if name.startswith("self-supervised")]:
            gains = [a[0]["mpsnr"] - b[0]["mpsnr"] for a, b in zip(runs[ahead], runs["subspace_tv"], strict=True)]
            verdict = "lower" if _mean(runs, ahead, "sam") < _mean(runs, "subspace_tv", "sam") else "HIGHER"
            print(f"| {scene} | {label} | **{ahead} − subspace_tv** | **{np.mean(gains):+.2f} ± {np.std(gains):.2f}** "
                  f"| | {verdict} | |")


#: every how many bands the noise-estimator check keeps: all, then about 30 and about 10 (few-band cubes)
BAND_STEPS = (1, 6, 20)


def noise_estimator_check(seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """``subspace_tv``'s noise estimate by each of its ``noise_method``s, on the training scenes (noise seed
    :data:`SELECTION_NOISE_SEED`) and the scored ones (``seeds``), with all bands and every :data:`BAND_STEPS` th:
    each estimate's error against the added noise's own σ per band (mean and worst over bands), and ``subspace_tv``'s
    MPSNR (its defaults otherwise) with each."""
    from spectraflow.preprocess import band_statistics, hysime

    estimators = ("regression", "difference_regression")
    print("σ estimated / the added noise's σ, per band: mean (worst: 1 + the largest deviation from 1, either way); "
          "the MPSNR of subspace_tv with each estimate, mean ± std over the noise seeds\n")
    print("| scene | bands | case | seeds | " + " | ".join(f"{e} σ" for e in estimators) + " | "
          + " | ".join(f"{e} dB" for e in estimators) + " | gain dB |")
    print("|---|---|---|---|" + "---|" * (2 * len(estimators) + 1))
    gains: dict[tuple[str, int], list[float]] = {}
    for scene in (*TRAINING_SCENES, *SCORED):
        scene_seeds = (SELECTION_NOISE_SEED,) if scene in TRAINING_SCENES else seeds
        whole = datasets.unit_cube(scene)
        for step in BAND_STEPS:
            clean = whole[:, :, ::step]
            for label, case, options in CASES[:3]:
                ratios: dict[str, list[np.ndarray]] = {e: [] for e in estimators}
                scores: dict[str, list[float]] = {e: [] for e in estimators}
                for seed in scene_seeds:
                    noisy = add_noise(clean, case, seed, **options)
                    truth = (noisy - clean).reshape(-1, clean.shape[2]).std(axis=0)
                    stats = band_statistics(noisy, gram=True, shift_difference=True)
                    for estimator in estimators:
                        ratios[estimator].append(hysime(stats=stats, method=estimator).noise_std / truth)
                        scores[estimator].append(_scores(xr.DataArray(noisy, dims=("y", "x", "band")), clean,
                                                         "subspace_tv", noise_method=estimator)["mpsnr"])
                gain = np.subtract(scores[estimators[1]], scores[estimators[0]])
                group = "training" if scene in TRAINING_SCENES else "scored"
                gains.setdefault((group, step), []).extend(gain.tolist())
                accuracy = [f"{np.mean(ratios[e]):.3f} ({np.max(np.abs(np.array(ratios[e]) - 1)) + 1:.2f})"
                            for e in estimators]
                print(f"| {scene} | {clean.shape[2]} | {label} | {list(scene_seeds)} | {' | '.join(accuracy)} | "
                      + " | ".join(f"{np.mean(scores[e]):.2f} ± {np.std(scores[e]):.2f}" for e in estimators)
                      + f" | {gain.mean():+.2f} |", flush=True)
    print(f"\nmean gain of {estimators[1]} over {estimators[0]} (every case and seed): "
          + ", ".join(f"{group} scenes, every {step}th band {np.mean(g):+.2f} (worst {np.min(g):+.2f})"
                      for (group, step), g in gains.items()))


#: the runs on the prior alone, instead of the scored run: flag → (check, its results file, what it does)
CHECKS = {
    "--training-scenes": (training_scene_checks, "denoise_training_scenes",
                          "the checks on the prior's training scenes (min_subspace, mixture)"),
    "--prior-weight": (prior_weight_selection, "denoise_prior_weight",
                       "the TV weight of the prior's input, chosen on the training scenes"),
    "--held-out": (held_out_checks, "denoise_held_out",
                   "each training scene scored by a prior trained on the other three"),
    "--mixtures": (mixtures_selection, "denoise_mixtures",
                   "the eigen-image rotations per draw in training, chosen with each training scene held out"),
    "--inference-time": (inference_time, "denoise_inference", "subspace_learned's seconds on a 256×256×200 cube"),
    "--library-prior": (library_prior, "denoise_library_prior",
                        "the TV weight and rotations of a prior at the default pipeline's budget"),
    "--wiener": (wiener_selection, "denoise_wiener",
                 "subspace_tv's Wiener step on the training scenes, beside the held-out priors"),
    "--wiener-share": (wiener_share_selection, "denoise_wiener_share",
                       "subspace_learned's average with subspace_tv's eigen-images, chosen on the training scenes"),
    "--ceiling": (seen_ceiling, "denoise_ceiling",
                  f"the prior on {CEILING_SCENE} once it has trained on that scene's clean cube (a ceiling)"),
    "--white": (white_check, "denoise_white", "subspace_tv's test that leaves out white eigen-images (no prior)"),
    "--min-subspace": (min_subspace_check, "denoise_min_subspace",
                       "subspace_tv's min_subspace rechecked on the training scenes with drop_white (no prior)"),
    "--self-supervised": (self_supervised_scores, "denoise_self_supervised",
                          "issue 20's self-supervised prior, trained by SURE on each scored noisy cube alone"),
    "--bounds": (eigen_image_bounds, "denoise_bounds",
                 "oracles: how much any denoiser of subspace_tv's eigen-images could gain (no prior)"),
    "--noise-estimator": (noise_estimator_check, "denoise_noise_estimator",
                          "subspace_tv's noise_method: each estimate's error and MPSNR, all bands and few (no prior)"),
}
#: the checks that take no prior (called without --learned)
PRIOR_FREE = ("--white", "--bounds", "--min-subspace", "--noise-estimator")


if __name__ == "__main__":
    from _results import recorded

    with recorded(next((name for flag, (_, name, _) in CHECKS.items() if flag in sys.argv), "denoise")):
        main()
