"""A 3-D convolutional variational autoencoder, trained on the scene it scores; a pixel's score is its negative
ELBO (reconstruction error plus the KL divergence of its latent code), as in the spectral anomaly detection in
EELS spectrum images with a 3-D convolutional VAE that this detector follows.

The cube is averaged into ``bands`` spectral bins (neighbouring bands are strongly correlated; the bins keep the
spectral locality a 3-D convolution needs) and standardised per bin. The encoder's 3-D convolutions slide over
(bin, y, x), halving the bins twice; a 1 × 1 convolution maps each pixel's features to the mean and log-variance
of its ``latent``-dimensional code; the decoder mirrors it. Fully convolutional: trained on random ``patch`` ×
``patch`` windows of the scene, it scores the whole scene at once. A lazy cube is binned block by block (the bins'
mean and spread from one pass), trained on windows drawn from evenly spaced strips of whole rows when it has
more than ``max_pixels`` pixels (:func:`spectraflow.blocks.row_strips`), and scored block by block with the
network's four-pixel reach around each block (the whole scene's scores, tested). Training runs through the shared loop
(:func:`spectraflow.train.fit`: CUDA and bf16 when present, seeded); anomalies are rare, so the model learns the
background and reconstructs them badly.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import register
from ._base import Detector

#: The network's spatial reach in pixels (two 3 × 3 convolutions each way): the halo of a block it scores.
HALO = 4
#: The fewest bins the network's first convolution sees: its kernel spans 7, and on a CPU torch 2.13's oneDNN
#: backward pass over no more bins than that corrupts the heap (5 bins: "free(): invalid next size", the process
#: killed) or returns NaN weight gradients now and then (6 and 7 bins, about 1 step in 100). Fewer bins are
#: zero-padded up to it (zero: the bins' mean, as they are standardised), and the loss sees the real bins only.
MIN_BINS = 8


def _bin_means(values: np.ndarray, bins: int) -> np.ndarray:
    """``(y, x, band)`` averaged into ``bins`` contiguous spectral bins."""
    edges = np.linspace(0, values.shape[2], min(bins, values.shape[2]) + 1).round().astype(int)
    return np.stack([values[..., a:b].mean(axis=2) for a, b in zip(edges[:-1], edges[1:], strict=True)], axis=2)


def _binned(values: Any, bins: int) -> Any:
    """``(y, x, band)`` averaged into ``bins`` contiguous spectral bins, each standardised over the scene (float32;
    a lazy cube: block by block, the bins' mean and spread from one pass)."""
    import dask
    import dask.array as da

    if not isinstance(values, da.Array):
        binned = _bin_means(np.asarray(values, dtype=np.float32), bins)
        binned = binned - binned.mean(axis=(0, 1))
        return (binned / (binned.std(axis=(0, 1)) + 1e-8)).astype(np.float32)
    values = values.astype(np.float32).rechunk({2: -1})
    binned = values.map_blocks(_bin_means, bins, chunks=(*values.chunks[:2], (min(bins, values.shape[2]),)),
                               dtype=np.float32)
    mean, std = dask.compute(binned.mean(axis=(0, 1), dtype=np.float64), binned.std(axis=(0, 1), dtype=np.float64))
    return ((binned - mean.astype(np.float32)) / np.float32(std + 1e-8)).astype(np.float32)


def _negative_elbo(reconstruction: Any, target: Any, kl: Any, beta: float) -> Any:
    """Per pixel ``(batch, y, x)``: half the squared reconstruction error over the bins (a unit-variance Gaussian
    likelihood of the standardised bins) plus ``beta`` × the KL divergence of the pixel's code."""
    return 0.5 * ((reconstruction - target) ** 2).sum(dim=(1, 2)) + beta * kl.float()


def _network(bins: int, latent: int, features: int) -> Any:
    import torch
    from torch import nn

    depth = max(bins, MIN_BINS)  # the bins the convolutions see
    reduced = ((depth + 1) // 2 + 1) // 2  # after two stride-2 convolutions (each ceil(n / 2))

    class VAE(nn.Module):
        """``forward`` returns the reconstruction; the batch's KL term is left in ``self.kl`` (per pixel)."""

        def __init__(self) -> None:
            super().__init__()
            self.encode = nn.Sequential(
                nn.Conv3d(1, features, (7, 3, 3), stride=(2, 1, 1), padding=(3, 1, 1)), nn.GELU(),
                nn.Conv3d(features, 2 * features, (5, 3, 3), stride=(2, 1, 1), padding=(2, 1, 1)), nn.GELU())
            self.code = nn.Conv2d(2 * features * reduced, 2 * latent, 1)
            self.expand = nn.Sequential(nn.Conv2d(latent, 2 * features * reduced, 1), nn.GELU())
            self.decode = nn.Sequential(
                nn.Upsample(scale_factor=(2, 1, 1)),
                nn.Conv3d(2 * features, features, (5, 3, 3), padding=(2, 1, 1)), nn.GELU(),
                nn.Upsample(scale_factor=(2, 1, 1)),
                nn.Conv3d(features, 1, (7, 3, 3), padding=(3, 1, 1)))
            self.kl = torch.zeros(())

        def forward(self, cube: Any) -> Any:  # (batch, 1, bins, y, x)
            batch, _, _, height, width = cube.shape
            if depth > bins:  # (padding by nothing would still copy the batch)
                cube = nn.functional.pad(cube, (0, 0, 0, 0, 0, depth - bins))
            features_ = self.encode(cube).reshape(batch, -1, height, width)
            mean, log_var = self.code(features_).chunk(2, dim=1)
            log_var = log_var.clamp(-10, 10)
            self.kl = 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum(dim=1)  # (batch, y, x)
            z = mean + (torch.randn_like(mean) * (0.5 * log_var).exp() if self.training else 0)  # eval: the mean
            out = self.decode(self.expand(z).reshape(batch, 2 * features, reduced, height, width))
            return out[:, :, :bins]

    return VAE()


@register("anomaly", "cvae")
@dataclass(frozen=True)
class ConvolutionalVAE(Detector):
    """``bands`` spectral bins, ``latent`` code size per pixel, ``features`` channels of the first convolution,
    ``beta`` the KL term's weight; training on ``steps`` batches of ``batch_size`` random ``patch``² windows per
    epoch for ``epochs`` epochs (AdamW at ``lr``, cosine schedule), ``device`` ``auto`` | ``cpu`` | ``cuda``,
    ``seed`` for everything random, ``members`` networks trained from seeds drawn from it (a deep ensemble: each
    member's scores standardised over the scene, then averaged). The defaults were chosen on ``san_diego`` only,
    in a search whose initial weights were not yet seeded (AUC there: latent 2 and beta 0.5 gave 0.964; beta 1
    0.953, beta 4 0.688, latent 1 0.774, latent 3 0.900): a small code per pixel keeps the network from learning
    to reconstruct the anomalies too. One network's AUC depends much on its initial weights (``abu_beach_3`` over
    seeds 0, 1, 2: 0.994, 0.988, 0.876); three members, the conventional small ensemble (no other size was
    tried), give 0.993, 0.995, 0.995 there, at three times the training (``benchmarks/results/anomaly.md``)."""

    name = "cvae"
    bands: int = 32
    latent: int = 2
    features: int = 8
    beta: float = 0.5
    patch: int = 16
    batch_size: int = 16
    steps: int = 16
    epochs: int = 15
    lr: float = 2e-3
    device: str = "auto"
    seed: int = 0
    members: int = 3
    max_pixels: int = 250_000

    def __post_init__(self) -> None:
        for field in ("bands", "latent", "features", "patch", "batch_size", "steps", "epochs", "members",
                      "max_pixels"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                self._fail(field, value, "a positive integer")
        if not self.beta >= 0:
            self._fail("beta", self.beta, "a non-negative weight")

    def score(self, cube: Any) -> Any:
        from ...blocks import row_strips

        data = _binned(cube, self.bands)
        height, width = data.shape[:2]
        # the windows are drawn from the scene, or from strips of it when it is larger than max_pixels
        strips = [np.asarray(data[rows]) for rows in row_strips(height, width, self.max_pixels, rows=4 * self.patch,
                                                                 minimum_rows=min(self.patch, height))]
        if self.members == 1:
            return self._member_scores(data, strips, self.seed)
        # a deep ensemble: each member's scores standardised over the scene (their scales differ), then averaged
        runs = [self._member_scores(data, strips, self._member_seed(member)) for member in range(self.members)]
        return np.mean([(r - r.mean()) / (r.std() + 1e-12) for r in runs], axis=0)

    def _member_seed(self, member: int) -> int:
        """Member 0 trains from ``seed`` itself (one member is the single network); the others from seeds drawn
        from it."""
        return self.seed if member == 0 else int(np.random.SeedSequence([self.seed, member]).generate_state(1)[0])

    def _member_scores(self, data: Any, strips: list[np.ndarray], seed: int) -> np.ndarray:
        import torch

        from ...train import TrainConfig, fit

        bins = data.shape[2]
        patch = min(self.patch, *strips[0].shape[:2])
        # each strip as (1, bins, y, x); a window is drawn from a strip chosen in proportion to its windows
        volumes = [torch.from_numpy(np.ascontiguousarray(strip.transpose(2, 0, 1)))[None] for strip in strips]
        room = np.array([(v.shape[2] - patch + 1) * (v.shape[3] - patch + 1) for v in volumes], dtype=np.float64)
        torch.manual_seed(seed)  # the initial weights, as everything after them, from the seed
        model = _network(bins, self.latent, self.features)

        def windows(rng: np.random.Generator, count: int) -> Any:
            if len(volumes) == 1:  # the scene (or its one strip)
                which = np.zeros(count, dtype=int)
                ys = rng.integers(0, volumes[0].shape[2] - patch + 1, count)
                xs = rng.integers(0, volumes[0].shape[3] - patch + 1, count)
            else:
                which = rng.choice(len(volumes), count, p=room / room.sum())
                ys = np.array([rng.integers(0, volumes[k].shape[2] - patch + 1) for k in which])
                xs = np.array([rng.integers(0, volumes[k].shape[3] - patch + 1) for k in which])
            return torch.stack([volumes[k][:, :, y:y + patch, x:x + patch]
                                for k, y, x in zip(which, ys, xs, strict=True)])

        def train_batches(rng: np.random.Generator) -> Any:
            for _ in range(self.steps):
                batch = windows(rng, self.batch_size)
                yield batch, batch

        validation = windows(np.random.default_rng([seed, 1]), self.batch_size)

        def loss(reconstruction: Any, target: Any) -> Any:  # per bin, so that lr does not depend on the bins
            return _negative_elbo(reconstruction, target, model.kl, self.beta).mean() / bins

        config = TrainConfig(epochs=self.epochs, lr=self.lr, device=self.device, seed=seed)
        fit(model, train_batches, lambda: [(validation, validation)], loss, config,
            meta={"family": "anomaly", "name": self.name, "config": {**asdict(self), "seed": seed}}, progress=False)
        model.eval()  # scores the mean code
        return np.asarray(_scores(model, data, self.beta))


def _scores(model: Any, data: Any, beta: float) -> Any:
    """Each pixel's negative ELBO under the trained ``model`` (eval mode) of the standardised bins ``data``: at
    once in memory, or block by block on a lazy array with a halo of :data:`HALO` pixels (the network's reach:
    the whole scene's scores)."""
    import dask.array as da
    import torch

    from ...blocks import map_blocks_with_halo

    device = next(model.parameters()).device
    one_at_a_time = threading.Lock()  # the network keeps its batch's KL term on itself: blocks take turns

    def score_block(block: np.ndarray) -> np.ndarray:
        with one_at_a_time, torch.no_grad():
            target = torch.from_numpy(np.ascontiguousarray(block.transpose(2, 0, 1)))[None, None].to(device)
            return _negative_elbo(model(target).float(), target, model.kl, beta)[0].cpu().numpy().astype(np.float64)

    return map_blocks_with_halo(score_block, data, HALO) if isinstance(data, da.Array) else score_block(data)
