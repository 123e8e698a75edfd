"""Blind unmixing by a convolutional autoencoder (the CNNAEU / MiSiCNet class), started from a blind method's result.

The encoder reads the scene with two 3×3 convolutions (a pixel's abundances are informed by its neighbours: the
spatial structure of abundance maps) and a 1×1 one, and a softmax puts each pixel's abundances on the simplex. The
decoder is the linear mixing model itself: the endmembers are its weights, ``E = E₀ · exp(c · δ)`` — positive,
starting at the start method's endmembers ``E₀`` (``start``: ``archetypal`` by default, or an endmember extractor
with FCLS abundances) and moving ``c =
endmember_rate`` times slower than the encoder (the encoder must follow the endmembers, not the other way). With
``scale > 0`` each pixel's reconstruction is multiplied by its least-squares scale, bounded to
``[1 − scale, 1 / (1 − scale)]`` (illumination, topography; benchmarks/results/unmix_conventions.md shows when a
reference needs one).

The encoder also reads the start's abundances: its logits are ``log(a₀ + 0.001)`` plus a correction from a
zero-initialised last layer, so training begins exactly where the start method ended (an untrained network *is*
the start, tested) and learns only what improves on it. Training goes through the shared loop
(:func:`spectraflow.train.fit`; bf16 autocast on CUDA): encoder and endmembers minimise the reconstruction's
squared error, in units of the mean squared pixel norm, for ``steps`` steps on the whole scene (rounded up to
whole epochs of 50 steps), the learning rate decaying to zero on a cosine (``schedule``; at a constant rate the
result is wherever the last steps land: on Samson its SAD varied 8× as much over seeds). The result is the
encoder's abundances and the decoder's endmembers; with ``checkpoint`` the trained network is kept there (weights
and JSON config, no pickle) and with ``curves`` its training curves.

A scene of more than ``max_pixels`` pixels is fitted on windows of up to 32 full rows evenly spaced over it,
``max_pixels`` pixels in all, each read with the encoder's two rows of context above and below (a stratified
sample that keeps each pixel's neighbourhood; the start method fits its own subset), so a step's cost does not
grow with the scene; the abundances of every pixel then come block by block from a lazy cube,
each block read with the encoder's two-pixel reach around it (the same as the whole scene's, tested).

Measured (benchmarks/results/unmix.md, 5 seeds, started from ``archetypal``; the defaults were chosen on Samson):
Samson abundance RMSE 0.052 ± 0.001 against ``archetypal``'s 0.067 (SAD 1.85° ± 0.01 against 1.86°; at a constant
learning rate 0.054 ± 0.002 and 1.94° ± 0.07) — its reference is FCLS on its endmembers, and the fit moves the
endmembers where the abundances agree with it — but Jasper Ridge 0.094 ± 0.001 against 0.085 (2.49° against
2.05°), whose reference was made with a per-pixel scale (benchmarks/results/unmix_conventions.md: a scale helps
Jasper Ridge's RMSE exactly as much as it hurts Samson's; the network itself, seed 0, with ``scale`` 0 / 0.05 / 0.1
/ 0.2 / 0.3 / 0.5: Samson 0.051 / 0.060 / 0.075 / 0.089 / 0.099 / 0.114, Jasper Ridge 0.094 / 0.087 / 0.080 /
0.071 / 0.070 / 0.070 — no one setting is 15 % below ``archetypal`` on both). Nor the rate at which the endmembers
move (stop 79, by hand, seed 0, RMSE / SAD on Samson, then Jasper Ridge): frozen (``endmember_rate`` 0) the encoder
reproduces FCLS on the start's endmembers (0.0657 / 1.88°, 0.0852 / 2.05°), so the gain on Samson is the endmembers'
movement, not the encoder's view of the neighbours; at 1/100 0.0600 / 1.82°, 0.0881 / 2.17° (±10 % scale: 0.0800,
0.0747); at 1/10 0.0530 / 2.34°, 0.0970 / 3.09° (±10 %: 0.0586, 0.0880). What one setting would need
(``python benchmarks/unmix_conventions.py --endmember-accuracy``, ``results/unmix_endmember_accuracy.md``, stop 78):
with endmembers moved from ``archetypal``'s toward the truth, FCLS with a ±5 % scale meets both floors once they are
within about 1.4° (Samson 0.0546 at 1.37°, Jasper Ridge 0.0723 at 1.56°), and a ±10 % scale once Samson's are within
about 1.1° (Jasper Ridge meets it at ``archetypal``'s own 2.05°). Samson's reference endmembers are single pixels of
the scene (0.00° from the nearest), and the pixels its reference gives 99 % or more of one endmember lie a median 1.1
/ 3.8 / 3.9° from it (soil / tree / water): a blind method would have to land nearer the reference's chosen pixel
than that endmember's own pure pixels do. Nor does snapping to the scene's pixels get there (stop 80, by hand,
``archetypal``'s endmembers, seed 0, each replaced by the mean of its k nearest pixels by spectral angle, k 1 / 5 / 20 /
50; RMSE with no scale, then ±10 %): Samson 0.0623 / 0.0569 / 0.0383 / 0.0522 and 0.0746 / 0.0692 / 0.0560 / 0.0664
(SAD 1.93 / 1.81 / 1.84 / 1.81°), Jasper Ridge 0.0925 / 0.0901 / 0.0861 / 0.0843 and 0.0808 / 0.0768 / 0.0751 / 0.0721
(2.57 / 2.08 / 1.81 / 1.69°), and at ±5 % neither k 20 (0.0496, 0.0781) nor 50 (0.0615, 0.0756): no one k and scale
meets both floors.

References
----------
.. [1] B. Palsson, M. O. Ulfarsson and J. R. Sveinsson, "Convolutional autoencoder for spectral-spatial
   hyperspectral unmixing," IEEE TGRS 59(1), 535-549, 2021 (CNNAEU).
.. [2] B. Rasti, B. Koirala, P. Scheunders and J. Chanussot, "MiSiCNet: minimum simplex convolutional network
   for deep hyperspectral unmixing," IEEE TGRS 60, 2022.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ...blocks import map_blocks_with_halo, row_strips
from .. import get, register
from ._base import ENDMEMBER, BlindUnmixer, EndmemberExtractor, endmember_array

__all__ = ["Autoencoder", "build_autoencoder"]

STEPS_PER_EPOCH = 50  # steps between the loop's validations (one batch is the whole scene, or its strips)
ABUNDANCE_FLOOR = 1e-3  # the start's abundances enter as log(a + floor): a zero stays reachable from there
HALO = 2  # the encoder's reach: two 3 × 3 convolutions
STRIP_ROWS = 32  # scored rows of each window of a scene larger than max_pixels
MIN_STRIPS = 4  # windows of a scene larger than max_pixels, at least (narrower windows if need be)


def build_autoencoder(start: np.ndarray, width: int = 64, endmember_rate: float = 1 / 30, scale: float = 0.0) -> Any:
    """The network for ``start`` ``(endmember, band)`` endmembers: ``(1, band + endmember, y, x)`` — the cube and
    the logarithm of the start's abundances — → the cube's reconstruction."""
    import torch
    from torch import nn

    n, bands = start.shape

    class UnmixingAutoencoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv2d(bands, width, 3, padding=1), nn.LeakyReLU(0.1),
                                         nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.1))
            self.out = nn.Conv2d(width, n, 1)
            nn.init.zeros_(self.out.weight)  # start at the start's abundances: the correction grows from zero
            nn.init.zeros_(self.out.bias)
            self.register_buffer("start", torch.as_tensor(start, dtype=torch.float32).clamp_min(1e-6))
            # the encoder reads the cube in units of the endmembers' RMS (DN or reflectance alike)
            self.register_buffer("gain", 1.0 / self.start.square().mean().sqrt())
            self.shift = nn.Parameter(torch.zeros(n, bands))

        def abundances(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(x[:, bands:] + self.out(self.encoder(x[:, :bands] * self.gain)), dim=1)

        def endmembers(self) -> torch.Tensor:
            return self.start * torch.exp(endmember_rate * self.shift)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x[:, :bands]
            fit = torch.einsum("bnhw,nc->bchw", self.abundances(x), self.endmembers().to(y.dtype))
            if scale > 0:
                best = (y * fit).sum(1, keepdim=True) / (fit * fit).sum(1, keepdim=True).clamp_min(1e-12)
                fit = fit * best.clamp(1.0 - scale, 1.0 / (1.0 - scale))
            return fit

    return UnmixingAutoencoder()


@register("unmix", "autoencoder")
@dataclass(frozen=True)
class Autoencoder(BlindUnmixer):
    name = "autoencoder"
    start: str = "archetypal"
    width: int = 64
    steps: int = 1500
    lr: float = 3e-3
    schedule: str = "cosine"
    endmember_rate: float = 1 / 30
    scale: float = 0.0
    max_pixels: int = 100_000
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    threads: int | None = None
    checkpoint: str | None = None  # where the trained network is written (None: not kept)
    curves: str | None = None  # the training curves' CSV (None: not written)

    def __post_init__(self) -> None:
        if self.width < 1 or self.steps < 1:
            self._fail("width/steps", (self.width, self.steps), "positive integers")
        if not 0 <= self.scale < 1:
            self._fail("scale", self.scale, "0 (no per-pixel scale) or a bound in (0, 1)")
        if self.start == self.name or not issubclass(get("unmix", self.start), BlindUnmixer | EndmemberExtractor):
            self._fail("start", self.start, "a blind method (archetypal) or an endmember extractor (vca, nfindr, "
                       "atgp; its abundances by FCLS)")
        if not self.max_pixels >= 2 * HALO + 1:
            self._fail("max_pixels", self.max_pixels, f"at least {2 * HALO + 1} pixels to fit on")
        from ...train import SCHEDULES

        if self.schedule not in SCHEDULES:
            self._fail("schedule", self.schedule, " or ".join(map(repr, SCHEDULES)))
        if not self.lr > 0 or not self.endmember_rate >= 0:
            self._fail("lr/endmember_rate", (self.lr, self.endmember_rate), "lr > 0, endmember_rate >= 0")

    def start_of(self, cube: xr.DataArray, n: int) -> tuple[xr.DataArray, xr.DataArray]:
        """Where the network starts: ``start``'s endmembers and abundances (a blind method's, or an endmember
        extractor's with FCLS abundances), seeded by ``seed``."""
        method = get("unmix", self.start)(seed=self.seed)
        if isinstance(method, BlindUnmixer):
            return method.unmix(cube, n)
        endmembers = method.endmembers(cube, n)
        return endmembers, get("unmix", "fcls")(device=self.device).abundances(cube, endmembers)

    def training_rows(self, height: int, width: int) -> list[slice]:
        """The rows the network is fitted on: the whole scene when it has at most ``max_pixels`` pixels, else
        windows of whole rows evenly spaced over the scene, ``max_pixels`` pixels in all (at least
        :data:`MIN_STRIPS` of them, each at most :data:`STRIP_ROWS` scored rows and their halos) — a stratified
        sample that keeps each pixel's neighbourhood. A window's first and last :data:`HALO` rows are its
        context, scored only at the scene's edge."""
        return row_strips(height, width, self.max_pixels, rows=STRIP_ROWS + 2 * HALO, minimum_rows=2 * HALO + 1,
                          count=MIN_STRIPS)

    def unmix(self, cube: xr.DataArray, n: int) -> tuple[xr.DataArray, xr.DataArray]:
        import dask.array as da
        import torch

        from ...train import TrainConfig, fit

        height, width, bands = cube.shape
        start_e, start_a = self.start_of(cube, n)
        # the network's input: the cube and the log of the start's abundances, lazy for a lazy cube
        parts = [cube.data.astype(np.float32), np.log(start_a.data.astype(np.float32) + np.float32(ABUNDANCE_FLOOR))]
        lazy = any(isinstance(part, da.Array) for part in parts)
        inputs = da.concatenate([da.asarray(p) for p in parts], axis=2) if lazy else np.concatenate(parts, axis=2)
        windows = self.training_rows(height, width)
        # (window, channel, y, x), filled a window at a time: the inputs, and the cube as the target
        strips = np.empty((len(windows), inputs.shape[2], windows[0].stop - windows[0].start, width), np.float32)
        for strip, rows in zip(strips, windows, strict=True):
            strip[:] = np.moveaxis(np.asarray(inputs[rows]), 2, 0)
        targets = strips[:, :bands].copy()  # NaN: not scored (nodata, and a window's context rows)
        for target, rows in zip(targets, windows, strict=True):
            target[:, :HALO if rows.start > 0 else 0] = np.nan
            target[:, target.shape[1] - (HALO if rows.stop < height else 0):] = np.nan
        x, y = torch.from_numpy(np.nan_to_num(strips, copy=False)), torch.from_numpy(targets)
        scored = torch.isfinite(y).all(1)  # (window, y, x)
        norm = float((y**2).sum(1)[scored].mean())
        y.nan_to_num_()  # (a NaN target would poison the gradient even where it is not scored)
        torch.manual_seed(self.seed)
        network = build_autoencoder(start_e.values, self.width, self.endmember_rate, self.scale)

        meta = {"family": "unmix", "name": self.name,
                "config": {"width": self.width, "endmember_rate": self.endmember_rate, "scale": self.scale,
                           "endmembers": n, "bands": bands, "start": self.start, "seed": self.seed}}
        config = TrainConfig(epochs=-(-self.steps // STEPS_PER_EPOCH), lr=self.lr, weight_decay=0.0,
                             schedule=self.schedule, grad_clip=None, precision=self.precision, device=self.device,
                             threads=self.threads, seed=self.seed)
        batch = [(x, y)]  # the scene (or its strips), its own target

        def loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            error = ((prediction - target) ** 2).sum(1)
            return error[scored.to(error.device)].mean() / norm

        fit(network, lambda rng: batch * STEPS_PER_EPOCH, lambda: batch, loss, config, meta=meta,
            checkpoint=self.checkpoint, curves=self.curves, progress=False)
        network = network.cpu().eval()
        with torch.no_grad():
            endmembers = network.endmembers().double().numpy()
        em = endmember_array(endmembers, cube)
        coords = {k: v for k, v in cube.coords.items() if "band" not in v.dims}
        coords[ENDMEMBER] = (ENDMEMBER, list(em[ENDMEMBER].values))
        abundances = encode_blocks(network, inputs, bands, n)
        return em, xr.DataArray(abundances, dims=("y", "x", ENDMEMBER), coords=coords, name="abundances")


def encode_blocks(network: Any, inputs: Any, bands: int, n: int) -> Any:
    """The abundances ``(y, x, n)`` the trained ``network`` gives ``inputs`` ``(y, x, band + n)``: at once in memory,
    or block by block on a lazy array with a halo of :data:`HALO` pixels (the encoder's reach), so the result
    is the whole scene's. NaN where the cube has a non-finite sample."""
    import dask.array as da
    import torch

    def encode(block: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.nan_to_num(np.ascontiguousarray(block, dtype=np.float32))).permute(2, 0, 1)[None]
        with torch.no_grad():
            a = network.abundances(x)[0].permute(1, 2, 0).double().numpy()
        a[~np.isfinite(block[..., :bands]).all(axis=2)] = np.nan
        return a

    return map_blocks_with_halo(encode, inputs, HALO, channels=n) if isinstance(inputs, da.Array) else encode(inputs)
