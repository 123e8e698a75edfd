"""A 3-D convolutional variational autoencoder, trained on the scene it scores; a pixel's score is its negative
ELBO (reconstruction error plus the KL divergence of its latent code), as in the spectral anomaly detection in
EELS spectrum images with a 3-D convolutional VAE that this detector follows.

The cube is averaged into ``bands`` spectral bins (neighbouring bands are strongly correlated; the bins keep the
spectral locality a 3-D convolution needs) and standardised per bin. The encoder's 3-D convolutions slide over
(bin, y, x), halving the bins twice; a 1 × 1 convolution maps each pixel's features to the mean and log-variance
of its ``latent``-dimensional code; the decoder mirrors it. Fully convolutional: trained on random ``patch`` ×
``patch`` windows of the scene, it scores the whole scene at once. Training runs through the shared loop
(:func:`spectraflow.train.fit`: CUDA and bf16 when present, seeded); anomalies are rare, so the model learns the
background and reconstructs them badly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import register
from ._base import Detector


def _binned(values: np.ndarray, bins: int) -> np.ndarray:
    """``(y, x, band)`` averaged into ``bins`` contiguous spectral bins, each standardised over the scene."""
    edges = np.linspace(0, values.shape[2], min(bins, values.shape[2]) + 1).round().astype(int)
    binned = np.stack([values[..., a:b].mean(axis=2) for a, b in zip(edges[:-1], edges[1:], strict=True)], axis=2)
    binned = binned - binned.mean(axis=(0, 1))
    return (binned / (binned.std(axis=(0, 1)) + 1e-8)).astype(np.float32)


def _negative_elbo(reconstruction: Any, target: Any, kl: Any, beta: float) -> Any:
    """Per pixel ``(batch, y, x)``: half the squared reconstruction error over the bins (a unit-variance Gaussian
    likelihood of the standardised bins) plus ``beta`` × the KL divergence of the pixel's code."""
    return 0.5 * ((reconstruction - target) ** 2).sum(dim=(1, 2)) + beta * kl.float()


def _network(bins: int, latent: int, features: int) -> Any:
    import torch
    from torch import nn

    reduced = ((bins + 1) // 2 + 1) // 2  # bins after two stride-2 convolutions (each ceil(n / 2))

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

    def __post_init__(self) -> None:
        for field in ("bands", "latent", "features", "patch", "batch_size", "steps", "epochs", "members"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                self._fail(field, value, "a positive integer")
        if not self.beta >= 0:
            self._fail("beta", self.beta, "a non-negative weight")

    def score(self, cube: Any) -> Any:
        data = _binned(np.asarray(cube, dtype=np.float32), self.bands)
        if self.members == 1:
            return self._member_scores(data, self.seed)
        # a deep ensemble: each member's scores standardised over the scene (their scales differ), then averaged
        runs = [self._member_scores(data, self._member_seed(member)) for member in range(self.members)]
        return np.mean([(r - r.mean()) / (r.std() + 1e-12) for r in runs], axis=0)

    def _member_seed(self, member: int) -> int:
        """Member 0 trains from ``seed`` itself (one member is the single network); the others from seeds drawn
        from it."""
        return self.seed if member == 0 else int(np.random.SeedSequence([self.seed, member]).generate_state(1)[0])

    def _member_scores(self, data: np.ndarray, seed: int) -> Any:
        import torch

        from ...train import TrainConfig, fit

        height, width, bins = data.shape
        patch = min(self.patch, height, width)
        volume = torch.from_numpy(np.ascontiguousarray(data.transpose(2, 0, 1)))[None]  # (1, bins, y, x)
        torch.manual_seed(seed)  # the initial weights, as everything after them, from the seed
        model = _network(bins, self.latent, self.features)

        def windows(rng: np.random.Generator, count: int) -> Any:
            ys = rng.integers(0, height - patch + 1, count)
            xs = rng.integers(0, width - patch + 1, count)
            return torch.stack([volume[:, :, y:y + patch, x:x + patch] for y, x in zip(ys, xs, strict=True)])

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
        device = next(model.parameters()).device
        with torch.no_grad():
            target = volume[None].to(device)
            scores = _negative_elbo(model(target).float(), target, model.kl, self.beta)
        return scores[0].cpu().numpy().astype(np.float64)
