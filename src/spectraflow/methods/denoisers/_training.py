"""Train a learned denoiser on preprocessed stores' patches, with noise of the field's protocol added.

The preprocessing stage records training patches and their leakage-free train/validation split (by region).

``qrnn3d``: each training step draws ``batch_size`` train patches, flips/rotates them at random, optionally
takes a random window of ``bands`` contiguous bands (the network accepts any band count, so training on windows
is cheaper and still transfers to the whole cube), and adds fresh noise of ``noise`` (a new seed per patch).
Validation uses every validation patch, whole, with noise fixed by the patch index, so validation scores are
comparable across epochs and runs.

``subspace_learned``: the eigen-image prior learns from what it will see at inference. Each whole scene gets
``draws`` noise draws of every case; each noisy cube's subspace is estimated as the model estimates it, and its
eigen-images, their TV-denoised versions and the clean cube's eigen-images on the same subspace are cut at the
patch corners (train and validation regions as above). With ``mixtures``, each draw also gives that many random
rotations of its eigen-images (an orthogonal mixture, the same for the noisy and the clean ones, TV recomputed):
the noise of a rotated set is still unit and i.i.d., so these are eigen-images as another scene might have them,
new content at no cost in steps (training regions only; validation keeps the scenes' own). A step draws
``batch_size`` of those eigen-image patches, flipped/rotated at random; the loss is their mean squared error in
units of the noise's variance.

``subspace_learned`` with ``mode="self_supervised"``: no clean data and no added noise — the stores' cubes are
taken as the noisy acquisitions they are, and the prior learns from their own eigen-images (whose noise the
whitening made unit Gaussian) by Stein's unbiased risk estimate: for ``F`` the refined TV output,
``‖F(z) − z‖² − N + 2 div F(z)`` has the expectation of ``‖F(z) − x‖²`` whatever the clean ``x``, the divergence
estimated by one random probe, ``εᵀ(F(z + δε) − F(z)) / δ`` (Monte-Carlo SURE). The validation loss is that
estimate on the validation regions' patches, fixed probes: the noise variance left, without a reference.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...train import History, TrainConfig

__all__ = ["DenoiserData", "train_denoiser"]


@dataclass(frozen=True)
class DenoiserData:
    """Batches for training (``train_denoise.data`` in params.yaml): ``batch_size`` patches per step,
    ``steps`` steps per epoch; ``qrnn3d``: ``bands`` contiguous bands per training patch (``null``: all);
    ``subspace_learned``: ``draws`` noise draws per scene and case, and ``mixtures`` random rotations of each
    draw's eigen-images added to the training patches (supervised only; see the module docstring)."""

    batch_size: int = 4
    steps: int = 20
    bands: int | None = None
    draws: int = 2
    mixtures: int = 0

    def __post_init__(self) -> None:
        for key in ("batch_size", "steps", "draws"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                raise ConfigError(f"train_denoise.data: {key}={getattr(self, key)!r}; expected a positive integer")
        if not isinstance(self.mixtures, int) or self.mixtures < 0:
            raise ConfigError(f"train_denoise.data: mixtures={self.mixtures!r}; expected 0 or more rotations per "
                              "noise draw")
        if self.bands is not None and self.bands < 3:
            raise ConfigError(f"train_denoise.data: bands={self.bands!r}; expected at least 3, or null (all)")


def _mpsnr(prediction: Any, target: Any) -> dict[str, float]:
    """Mean over samples and bands of the band PSNR (data range 1), on ``(n, 1, band, y, x)`` tensors."""
    import torch

    mse = ((prediction - target) ** 2).mean(dim=(-2, -1)).clamp_min(1e-12)
    return {"mpsnr": float((-10.0 * torch.log10(mse)).mean())}


def _store_patches(store: str | os.PathLike[str]) -> tuple[Any, int, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """``(cube, size, (patch_y, patch_x), split)`` of a preprocessed store: its lazy cube (nodata filled) and
    the training patches' side, corners and split (0 train, 1 validation)."""
    from ...cube import CUBE, fill_invalid
    from ...io import open_store

    scene = open_store(store)
    if "patch_split" not in scene:
        raise ConfigError(f"{store}: no training patches (set preprocess.patches in params.yaml)")
    size = int(json.loads(scene.attrs["patches"])["size"])
    return (fill_invalid(scene[CUBE])[0].data, size, (scene["patch_y"].values, scene["patch_x"].values),
            scene["patch_split"].values)


def _cube_patches(store: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The ``(train, validation)`` patches ``(y, x, band)`` of a preprocessed store."""
    from ...preprocess import extract_patches

    cube, size, corners, split = _store_patches(store)
    train, val = (list(extract_patches(cube, corners[0][split == s], corners[1][split == s], size)
                       .astype(np.float32)) for s in (0, 1))
    return train, val


def _eigen_image_patches(store: str | os.PathLike[str], estimator: Any, cases: Sequence[Mapping[str, Any]] | None,
                         draws: int, seed: int, mixtures: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(train, validation)`` eigen-image patches ``(3, y, x)`` — noisy, TV-denoised, clean — of a store's
    scene under every case's ``draws`` noise draws, found by ``estimator``, and ``mixtures`` random rotations of
    each draw's (training regions only; see the module docstring); with ``cases`` None, ``(1, y, x)`` patches of
    the scene's own eigen-images."""
    from scipy.stats import special_ortho_group

    from ...synth import add_noise

    cube, size, corners, split = _store_patches(store)
    clean = np.asarray(cube, dtype=np.float32)
    patches: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])

    def cut(stack: np.ndarray, splits: tuple[int, ...] = (0, 1)) -> None:  # (eigen-image, kind, y, x) → patches
        for y, x, s in zip(*corners, split, strict=True):
            if s in splits:
                patches[int(s)].extend(stack[:, :, y:y + size, x:x + size].astype(np.float32))

    if cases is None:  # self-supervised: the cube is the noisy acquisition; its eigen-images alone
        cut(estimator.subspace_of(clean).eigen_images(clean)[:, None])
        return patches
    for c, case in enumerate(cases):
        for draw in range(draws):
            noisy = add_noise(clean, seed=seed + 1000 * c + draw, **case).astype(np.float32)
            space = estimator.subspace_of(noisy)
            images = np.stack([space.eigen_images(noisy), space.eigen_images(clean)])  # (noisy/clean, k, y, x)
            rotations = [np.eye(len(images[0]))]
            if mixtures and len(images[0]) > 1:
                drawn = special_ortho_group.rvs(len(images[0]), size=mixtures, random_state=seed + 1000 * c + draw)
                rotations += list(np.reshape(drawn, (mixtures, *rotations[0].shape)))
            for r, rotation in enumerate(rotations):
                noisy_images, clean_images = np.einsum("ij,sjyx->siyx", rotation, images)
                cut(np.stack([noisy_images, estimator.smooth(noisy_images), clean_images], axis=1),
                    (0, 1) if r == 0 else (0,))
    return patches


def eigen_image_estimator(model: str, subspace: Mapping[str, Any] | None) -> Any:
    """How ``model`` finds the eigen-images it trains on: ``subspace_learned``'s estimator with the eigen-image
    settings ``subspace``; None for ``qrnn3d`` (which takes no settings)."""
    from .. import get

    if model != "subspace_learned":
        if subspace:
            raise ConfigError(f"train_denoise: subspace={dict(subspace)!r} with model={model!r}; the eigen-image "
                              "settings are subspace_learned's (set subspace: {})")
        return None
    return get("denoise", model).estimator(**dict(subspace or {}))


MODELS = ("qrnn3d", "subspace_learned")
MODES = ("supervised", "self_supervised")
PROBE = 0.01  # δ of the Monte-Carlo divergence, in units of the noise σ


def train_denoiser(stores: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                   checkpoint: str | os.PathLike[str], *, model: str = "qrnn3d", mode: str = "supervised",
                   network: Mapping[str, Any] | None = None, train: TrainConfig | None = None,
                   data: DenoiserData | None = None,
                   noise: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                   subspace: Mapping[str, Any] | None = None, curves: str | os.PathLike[str] | None = None,
                   resume: bool = False, progress: bool = True) -> History:
    """Train ``model``'s network (one of :data:`MODELS`) on the preprocessed store(s); write
    ``checkpoint``.

    ``stores`` may be several scenes (for ``qrnn3d`` their band counts may differ when ``data.bands`` sets a
    common window). ``network`` holds the architecture (``qrnn3d``: ``features``, ``levels``;
    ``subspace_learned``: ``width``, ``depth``); ``noise`` the protocol case to train for (``{case, sigma,
    peak}``, default mixture; see :func:`spectraflow.synth.add_noise`), or a list of cases (a blind model).
    ``mode="self_supervised"`` (``subspace_learned`` only) trains on the stores as they are, noise and all, and
    takes no ``noise``. ``subspace`` (``subspace_learned`` only): the eigen-image settings
    (:data:`~.subspace_learned.EIGEN_IMAGE_SETTINGS`; the method's defaults where absent), recorded in the
    checkpoint; a ``subspace_learned`` config that asks for others is refused.
    """
    import torch

    from ...train import data_fingerprint, fit
    from .. import get
    from .subspace_learned import EIGEN_IMAGE_SETTINGS

    if model not in MODELS:
        raise ConfigError(f"train_denoise: model={model!r}; expected one of {MODELS}")
    if mode not in MODES:
        raise ConfigError(f"train_denoise: mode={mode!r}; expected one of {MODES}")
    self_supervised = mode == "self_supervised"
    train = train or TrainConfig()
    data = data or DenoiserData()
    if data.mixtures and (model == "qrnn3d" or self_supervised):
        raise ConfigError(f"train_denoise.data: mixtures={data.mixtures} with model={model!r}, mode={mode!r}; "
                          "mixtures rotate the eigen-images of supervised subspace_learned training (set 0)")
    if self_supervised and (model == "qrnn3d" or noise is not None):
        raise ConfigError(f"train_denoise: mode=self_supervised with model={model!r}, noise={noise!r}; expected "
                          "model subspace_learned and noise null (the scenes' own noise is what it learns from)")
    given = [noise] if noise is None or isinstance(noise, Mapping) else list(noise)
    cases: list[dict[str, Any]] = [{k: v for k, v in dict(c or {"case": "mixture"}).items() if k != "seed"}
                                   for c in given]
    sources = [stores] if isinstance(stores, str | os.PathLike) else list(stores)
    estimator = eigen_image_estimator(model, subspace)
    patches: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for store in sources:
        found = (_cube_patches(store) if model == "qrnn3d"
                 else _eigen_image_patches(store, estimator, None if self_supervised else cases, data.draws,
                                           train.seed, data.mixtures))
        patches[0].extend(found[0])
        patches[1].extend(found[1])
    if not patches[0] or not patches[1]:
        raise ConfigError(f"{', '.join(map(str, sources))}: {len(patches[0])} training and {len(patches[1])} "
                          "validation patches; both splits need at least one (preprocess.patches.val_fraction, "
                          "region)")
    loss: Callable[[Any, Any], Any] = torch.nn.functional.mse_loss
    if model == "qrnn3d":
        network_config = {"features": 16, "levels": 2, **dict(network or {})}
        train_batches, validation = _band_window_batches(patches, cases, data)
        scores: Any = _mpsnr
    else:
        if data.bands is not None:
            raise ConfigError(f"train_denoise.data: bands is for qrnn3d; {model} trains on eigen-images "
                              "(set bands: null)")
        network_config = {"width": 32, "depth": 8, **dict(network or {})}
        if self_supervised:
            train_batches, validation = _probed_batches(patches, data, estimator)
            loss = sure_loss
        else:
            train_batches, validation = _eigen_image_batches(patches, data)
        scores = None  # the loss is the score: the noise variance left, in units of the noise's
    torch.manual_seed(train.seed)  # the initial weights are part of the run: seeded like everything else
    net = get("denoise", model).build_network(**network_config)
    meta = {"family": "denoise", "name": model, "config": network_config,
            "data": {"stores": [str(s) for s in sources], **asdict(data), "mode": mode,
                     "noise": None if self_supervised else cases[0] if len(cases) == 1 else cases,
                     "fingerprint": data_fingerprint(*patches[0], *patches[1])}}
    if estimator is not None:  # what the eigen-images were: inference must find the same
        meta["data"]["eigen_images"] = {key: getattr(estimator, key) for key in EIGEN_IMAGE_SETTINGS}
    return fit(net, train_batches, lambda: iter(validation), loss, train, meta=meta,
               checkpoint=Path(checkpoint), curves=curves, scores=scores, resume=resume, progress=progress)


Batches = Callable[[np.random.Generator], Iterator[tuple[Any, Any]]]


def _band_window_batches(patches: tuple[list[np.ndarray], list[np.ndarray]], cases: Sequence[Mapping[str, Any]],
                         data: DenoiserData) -> tuple[Batches, list[tuple[Any, Any]]]:
    """qrnn3d's ``(train_batches, validation)``: noisy/clean band windows, fresh noise per patch."""
    import torch

    from ...synth import add_noise

    min_bands = min(p.shape[-1] for p in patches[0])
    window = min(data.bands or min_bands, min_bands)
    if data.bands is None and any(p.shape[-1] != min_bands for p in patches[0]):
        raise ConfigError("train_denoise.data: the scenes have different band counts; set bands to train on a "
                          "common window")

    def volume(batch: list[np.ndarray]) -> Any:  # (n, y, x, band) → (n, 1, band, y, x)
        return torch.from_numpy(np.ascontiguousarray(np.stack(batch).transpose(0, 3, 1, 2)[:, None]))

    def train_batches(rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
        for _ in range(data.steps):
            clean, noisy = [], []
            for i in rng.integers(0, len(patches[0]), data.batch_size):
                patch = _augment(patches[0][i], rng, axes=(0, 1))
                first = int(rng.integers(0, patch.shape[-1] - window + 1))
                patch = np.ascontiguousarray(patch[..., first:first + window])
                case = cases[int(rng.integers(len(cases)))]
                clean.append(patch)
                noisy.append(add_noise(patch, seed=int(rng.integers(2**31)), **case))
            yield volume(noisy), volume(clean)

    validation = [(volume([add_noise(p, seed=i, **cases[i % len(cases)])]), volume([p]))
                  for i, p in enumerate(patches[1])]
    return train_batches, validation


def _eigen_image_batches(patches: tuple[list[np.ndarray], list[np.ndarray]],
                         data: DenoiserData) -> tuple[Batches, list[tuple[Any, Any]]]:
    """subspace_learned's ``(train_batches, validation)``: (noisy, TV) pairs and the clean images."""
    import torch

    def pairs(batch: list[np.ndarray]) -> tuple[Any, Any]:
        stack = torch.from_numpy(np.ascontiguousarray(np.stack(batch)))
        return stack[:, :2], stack[:, 2:]

    def train_batches(rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
        for _ in range(data.steps):
            yield pairs([_augment(patches[0][i], rng, axes=(1, 2))
                         for i in rng.integers(0, len(patches[0]), data.batch_size)])

    chunk = 64
    validation = [pairs(patches[1][i:i + chunk]) for i in range(0, len(patches[1]), chunk)]
    return train_batches, validation


def _probed_batches(patches: tuple[list[np.ndarray], list[np.ndarray]], data: DenoiserData,
                    estimator: Any) -> tuple[Batches, list[tuple[Any, Any]]]:
    """Self-supervised batches: input ``(n, 4, y, x)`` — ``z``, TV(``z``), ``z + δε``, TV(``z + δε``) — and
    target ``(n, 2, y, x)`` — ``z``, ``ε`` — for :func:`sure_loss`."""
    import torch

    def probed(batch: list[np.ndarray], rng: np.random.Generator) -> tuple[Any, Any]:
        z = np.concatenate(batch)  # (n, y, x)
        probe = rng.standard_normal(z.shape).astype(np.float32)
        shifted = z + PROBE * probe
        stack = [z, estimator.smooth(z), shifted, estimator.smooth(shifted)]
        inputs = torch.from_numpy(np.stack(stack, axis=1).astype(np.float32))
        return inputs, torch.from_numpy(np.stack([z, probe], axis=1))

    def train_batches(rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
        for _ in range(data.steps):
            picked = [np.ascontiguousarray(_augment(patches[0][i], rng, axes=(1, 2)))
                      for i in rng.integers(0, len(patches[0]), data.batch_size)]
            yield probed(picked, rng)

    chunk = 64
    validation = [probed(patches[1][i:i + chunk], np.random.default_rng(i)) for i in range(0, len(patches[1]), chunk)]
    return train_batches, validation


def sure_loss(prediction: Any, target: Any) -> Any:
    """Monte-Carlo SURE per pixel for unit noise: ``prediction`` ``(n, 2, y, x)`` is ``F(z)``, ``F(z + δε)``;
    ``target`` ``(n, 2, y, x)`` is ``z``, ``ε``. Its expectation is the mean squared error against the clean image."""
    refined, shifted = prediction[:, 0], prediction[:, 1]
    z, probe = target[:, 0], target[:, 1]
    return ((refined - z) ** 2).mean() - 1.0 + 2.0 * (probe * (shifted - refined)).mean() / PROBE


def _augment(patch: np.ndarray, rng: np.random.Generator, axes: tuple[int, int]) -> np.ndarray:
    """A random one of the square's eight symmetries over the two spatial ``axes``."""
    patch = np.rot90(patch, k=int(rng.integers(4)), axes=axes)
    return np.flip(patch, axis=axes[1]) if rng.random() < 0.5 else patch
