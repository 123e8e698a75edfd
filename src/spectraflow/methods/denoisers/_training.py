"""Train the deep denoiser on a preprocessed store's patches, with noise of the field's protocol added on the fly.

The preprocessing stage records training patches and their leakage-free train/validation split (by region).
Each training step draws ``batch_size`` train patches, flips/rotates them at random, optionally takes a random
window of ``bands`` contiguous bands (the network accepts any band count, so training on windows is cheaper
and still transfers to the whole cube), and adds fresh noise of ``noise`` (a new seed per patch). Validation
uses every validation patch, whole, with noise fixed by the patch index, so validation scores are comparable
across epochs and runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
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
    ``steps`` steps per epoch, ``bands`` contiguous bands per training patch (``null``: all)."""

    batch_size: int = 4
    steps: int = 20
    bands: int | None = None

    def __post_init__(self) -> None:
        for key in ("batch_size", "steps"):
            if not isinstance(getattr(self, key), int) or getattr(self, key) < 1:
                raise ConfigError(f"train_denoise.data: {key}={getattr(self, key)!r}; expected a positive integer")
        if self.bands is not None and self.bands < 3:
            raise ConfigError(f"train_denoise.data: bands={self.bands!r}; expected at least 3, or null (all)")


def _mpsnr(prediction: Any, target: Any) -> dict[str, float]:
    """Mean over samples and bands of the band PSNR (data range 1), on ``(n, 1, band, y, x)`` tensors."""
    import torch

    mse = ((prediction - target) ** 2).mean(dim=(-2, -1)).clamp_min(1e-12)
    return {"mpsnr": float((-10.0 * torch.log10(mse)).mean())}


def _store_patches(store: str | os.PathLike[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The ``(train, validation)`` patches ``(y, x, band)`` of a preprocessed store."""
    from ...cube import CUBE
    from ...io import open_store
    from ...preprocess import extract_patches

    scene = open_store(store)
    if "patch_split" not in scene:
        raise ConfigError(f"{store}: no training patches (set preprocess.patches in params.yaml)")
    size = int(json.loads(scene.attrs["patches"])["size"])
    split = scene["patch_split"].values
    corners = scene["patch_y"].values, scene["patch_x"].values
    train, val = (list(extract_patches(scene[CUBE].data, corners[0][split == s], corners[1][split == s], size)
                       .astype(np.float32)) for s in (0, 1))
    return train, val


def train_denoiser(stores: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
                   checkpoint: str | os.PathLike[str], *, network: Mapping[str, Any] | None = None,
                   train: TrainConfig | None = None, data: DenoiserData | None = None,
                   noise: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                   curves: str | os.PathLike[str] | None = None, resume: bool = False,
                   progress: bool = True) -> History:
    """Train a ``qrnn3d`` network on the patches of the preprocessed store(s); write ``checkpoint``.

    ``stores`` may be several scenes (their band counts may differ when ``data.bands`` sets a common window).
    ``network`` holds the architecture (``features``, ``levels``); ``noise`` the protocol case to train for
    (``{case, sigma, peak}``, default mixture; see :func:`spectraflow.synth.add_noise`), or a list of cases,
    one drawn at random per patch (a blind model; validation cycles through them).
    """
    import torch

    from ...synth import add_noise
    from ...train import data_fingerprint, fit
    from .qrnn3d import build_network

    train = train or TrainConfig()
    data = data or DenoiserData()
    given = [noise] if noise is None or isinstance(noise, Mapping) else list(noise)
    cases: list[dict[str, Any]] = [{k: v for k, v in dict(c or {"case": "mixture"}).items() if k != "seed"}
                                   for c in given]
    network_config = {"features": 16, "levels": 2, **dict(network or {})}
    sources = [stores] if isinstance(stores, str | os.PathLike) else list(stores)
    patches: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for store in sources:
        train_patches, val_patches = _store_patches(store)
        patches[0].extend(train_patches)
        patches[1].extend(val_patches)
    if not patches[0] or not patches[1]:
        raise ConfigError(f"{', '.join(map(str, sources))}: {len(patches[0])} training and {len(patches[1])} "
                          "validation patches; both splits need at least one (preprocess.patches.val_fraction, "
                          "region)")
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
                patch = np.rot90(patches[0][i], k=int(rng.integers(4)))
                patch = patch[:, ::-1] if rng.random() < 0.5 else patch
                first = int(rng.integers(0, patch.shape[-1] - window + 1))
                patch = np.ascontiguousarray(patch[..., first:first + window])
                case = cases[int(rng.integers(len(cases)))]
                clean.append(patch)
                noisy.append(add_noise(patch, seed=int(rng.integers(2**31)), **case))
            yield volume(noisy), volume(clean)

    validation = [(volume([add_noise(p, seed=i, **cases[i % len(cases)])]), volume([p]))
                  for i, p in enumerate(patches[1])]
    torch.manual_seed(train.seed)  # the initial weights are part of the run: seeded like everything else
    model = build_network(**network_config)
    meta = {"family": "denoise", "name": "qrnn3d", "config": network_config,
            "data": {"stores": [str(s) for s in sources], **asdict(data),
                     "noise": cases[0] if len(cases) == 1 else cases,
                     "fingerprint": data_fingerprint(*patches[0], *patches[1])}}
    return fit(model, train_batches, lambda: iter(validation), torch.nn.functional.mse_loss, train, meta=meta,
               checkpoint=Path(checkpoint), curves=curves, scores=_mpsnr, resume=resume, progress=progress)
