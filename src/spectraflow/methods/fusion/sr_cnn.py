"""A light learned super-resolver: a small 2-D CNN that restores the detail cubic interpolation loses.

Each band is restored from the interpolated cube with its ``neighbours`` bands on either side as extra input
channels (spectral context, edges reflected), so one network serves any number of bands and any sensor. The
network predicts the residual between the interpolated band and the sharp one; each band is scaled by its
0.999 quantile (of the low-resolution input) before and unscaled after, so the weights do not depend on the
radiometric scale. It learns the protocol's sensor model (MTF blur, decimation by ``ratio``) from pairs made
by that model from other scenes (:func:`train_sr_cnn`): the scene it super-resolves is never seen in training.

A lazy pair (a store's scene and its companion, whose grid the result takes) is fused tile by tile, like the other
methods: the scales come from at most ``max_pixels`` pixels of whole rows evenly spaced over the scene (every
pixel of a smaller scene), each tile is restored with a halo of 8 coarse pixels (the network sees 6 fine pixels
around each, the cubic spline a decaying reach).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...train import History, TrainConfig
from .. import register
from ._base import DEFAULT_MTF_GAIN, Fuser, degrade, upsample

__all__ = ["SRCNN", "SRData", "train_sr_cnn"]


def _network(neighbours: int, features: int, depth: int) -> Any:
    import torch
    from torch import nn

    class Restorer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [nn.Conv2d(2 * neighbours + 1, features, 3, padding=1), nn.ReLU()]
            for _ in range(depth - 2):
                layers += [nn.Conv2d(features, features, 3, padding=1), nn.ReLU()]
            layers.append(nn.Conv2d(features, 1, 3, padding=1))
            self.body = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # (n, 2k+1, y, x) → (n, 1, y, x)
            return x[:, neighbours:neighbours + 1] + self.body(x)

    return Restorer()


def _scale(cube: Any, max_pixels: int | None = None) -> np.ndarray:
    """Each band's 0.999 quantile (1 where a band is all zero), of every pixel or, with ``max_pixels``, of at most
    that many pixels of whole rows evenly spaced over the cube (:func:`spectraflow.blocks.sample_rows`)."""
    from ...blocks import sample_rows

    values = np.asarray(cube) if max_pixels is None else sample_rows(cube, max_pixels)[1]
    scale = np.quantile(values.reshape(-1, values.shape[2]), 0.999, axis=0)
    return np.where(scale > 0, scale, 1.0)


def _stacks(cube: np.ndarray, bands: np.ndarray, neighbours: int) -> np.ndarray:
    """``(len(bands), 2k+1, y, x)``: each band with its neighbours (indices reflected at the spectral edges)."""
    count = cube.shape[2]
    offsets = np.arange(-neighbours, neighbours + 1)
    index = np.abs(bands[:, None] + offsets[None, :])
    index = np.where(index >= count, 2 * (count - 1) - index, index).clip(0, count - 1)
    return np.ascontiguousarray(np.moveaxis(cube[:, :, index], (2, 3), (0, 1)))


@dataclass(frozen=True)
class Restoration:
    """What :class:`SRCNN` needs of the whole scene: the network (eval mode), its spectral neighbours, and each
    band's scale."""

    model: Any
    neighbours: int
    scale: np.ndarray


@register("fuse", "sr_cnn")
@dataclass(frozen=True)
class SRCNN(Fuser):
    """``checkpoint``: the directory :func:`train_sr_cnn` wrote (its ``ratio`` must be the one asked for);
    ``max_pixels``: the pixels of a lazy scene its band scales are taken from."""

    name = "sr_cnn"
    guided = False
    tiled = True
    #: the interpolated window, the result and its unscaled copy (float64), a batch of band stacks and two layers'
    #: activations: 55 B measured on a 224-band window at the default memory_mb and batch_bands
    bytes_per_voxel = 56.0
    checkpoint: str | None = None
    batch_bands: int = 16
    max_pixels: int = 1 << 16

    def __post_init__(self) -> None:
        if self.checkpoint is None:
            self._fail("checkpoint", None, "the directory of a model trained by train_sr_cnn")
        for key in ("batch_bands", "max_pixels"):
            value = getattr(self, key)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                self._fail(key, value, "a positive integer")

    def fit(self, hs: Any, guide: Any, ratio: int, srf: np.ndarray | None = None) -> Restoration:
        """The network read from the checkpoint (checked against ``ratio``) and the scene's band scales."""
        from ...train import read_checkpoint

        meta, weights = read_checkpoint(str(self.checkpoint), family="fuse")
        if meta["name"] != self.name:
            raise ConfigError(f"fuse {self.name!r}: {self.checkpoint} holds a {meta['name']!r} model")
        config = meta["config"]
        if config["ratio"] != ratio:
            raise ConfigError(f"fuse {self.name!r}: {self.checkpoint} was trained for ratio {config['ratio']}, "
                              f"asked for {ratio}")
        model = _network(**config["network"])
        model.load_state_dict(weights)
        lazy = hasattr(hs, "compute")
        return Restoration(model.eval(), config["network"]["neighbours"], _scale(hs, self.max_pixels if lazy else None))

    def sharpen_window(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int, fitted: Any) -> np.ndarray:
        import torch

        interpolated = upsample(hs / fitted.scale, ratio, None if guide is None else guide.shape[:2])
        out = np.empty_like(interpolated)
        with torch.no_grad():
            for first in range(0, hs.shape[2], self.batch_bands):
                bands = np.arange(first, min(first + self.batch_bands, hs.shape[2]))
                inputs = torch.from_numpy(_stacks(interpolated, bands, fitted.neighbours).astype(np.float32))
                out[:, :, bands] = fitted.model(inputs)[:, 0].numpy().transpose(1, 2, 0)
        return out * fitted.scale


@dataclass(frozen=True)
class SRData:
    """Training batches: ``batch_size`` patches of ``patch`` × ``patch`` fine pixels, ``steps`` per epoch."""

    batch_size: int = 16
    steps: int = 80
    patch: int = 48

    def __post_init__(self) -> None:
        for key in ("batch_size", "steps", "patch"):
            if not (isinstance(getattr(self, key), int) and getattr(self, key) >= 1):
                raise ConfigError(f"sr_cnn data: {key}={getattr(self, key)!r}; expected a positive integer")


def _pairs(cubes: Sequence[np.ndarray], ratio: int, gain: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(interpolated low-resolution, sharp) pairs of the scaled scenes, cropped to a multiple of ``ratio``."""
    pairs = []
    for cube in cubes:
        cube = np.asarray(cube, dtype=np.float64)
        cube = cube[:cube.shape[0] // ratio * ratio, :cube.shape[1] // ratio * ratio]
        low = degrade(cube, ratio, gain)
        scale = _scale(low)
        pairs.append((upsample(low / scale, ratio, cube.shape[:2]).astype(np.float32),
                      (cube / scale).astype(np.float32)))
    return pairs


def train_sr_cnn(train_cubes: Sequence[np.ndarray], val_cubes: Sequence[np.ndarray],
                 checkpoint: str | os.PathLike[str], *, ratio: int = 4, neighbours: int = 2, features: int = 32,
                 depth: int = 6, mtf_gain: float = DEFAULT_MTF_GAIN, train: TrainConfig | None = None,
                 data: SRData | None = None, curves: str | os.PathLike[str] | None = None,
                 progress: bool = True) -> History:
    """Train ``sr_cnn`` on pairs the sensor model makes from ``train_cubes`` (``(y, x, band)`` arrays of any
    band count), keep the weights that score best on ``val_cubes``, write ``checkpoint``."""
    import torch

    from ...train import data_fingerprint, fit

    train = train or TrainConfig(epochs=40, lr=1e-3)
    data = data or SRData()
    if not train_cubes or not val_cubes:
        raise ConfigError("train_sr_cnn: expected at least one training and one validation cube")
    network = {"neighbours": neighbours, "features": features, "depth": depth}
    torch.manual_seed(train.seed)
    model = _network(**network)
    pairs = _pairs(train_cubes, ratio, mtf_gain)
    small = [p for p in pairs if min(p[0].shape[:2]) < data.patch]
    if small:
        raise ConfigError(f"train_sr_cnn: a training cube of {small[0][0].shape[:2]} pixels is smaller than the "
                          f"{data.patch}-pixel patch")
    validation = _pairs(val_cubes, ratio, mtf_gain)

    def train_batches(rng: np.random.Generator) -> Iterator[tuple[Any, Any]]:
        for _ in range(data.steps):
            inputs, targets = [], []
            for scene in rng.integers(0, len(pairs), data.batch_size):
                low, sharp = pairs[scene]
                y0 = int(rng.integers(0, low.shape[0] - data.patch + 1))
                x0 = int(rng.integers(0, low.shape[1] - data.patch + 1))
                band = np.array([rng.integers(0, low.shape[2])])
                window = (slice(y0, y0 + data.patch), slice(x0, x0 + data.patch))
                stack = _stacks(low[window], band, neighbours)[0]
                target = sharp[window][:, :, band[0]][None]
                turns, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
                stack, target = np.rot90(stack, turns, (1, 2)), np.rot90(target, turns, (1, 2))
                if flip:
                    stack, target = stack[:, :, ::-1], target[:, :, ::-1]
                inputs.append(np.ascontiguousarray(stack))
                targets.append(np.ascontiguousarray(target))
            yield torch.from_numpy(np.stack(inputs)), torch.from_numpy(np.stack(targets))

    def val_batches() -> Iterator[tuple[Any, Any]]:
        for low, sharp in validation:
            for first in range(0, low.shape[2], 16):
                bands = np.arange(first, min(first + 16, low.shape[2]))
                yield (torch.from_numpy(_stacks(low, bands, neighbours)),
                       torch.from_numpy(np.ascontiguousarray(np.moveaxis(sharp[:, :, bands], 2, 0)[:, None])))

    meta = {"family": "fuse", "name": "sr_cnn",
            "config": {"network": network, "ratio": ratio, "mtf_gain": mtf_gain, "data": asdict(data)},
            "data_sha256": data_fingerprint(*[c for pair in pairs for c in pair])}
    return fit(model, train_batches, val_batches, torch.nn.functional.mse_loss, train, meta=meta,
               checkpoint=checkpoint, curves=curves, progress=progress)
