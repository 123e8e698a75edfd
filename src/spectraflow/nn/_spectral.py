"""Spectral convolution: a learned linear map on the lowest Fourier modes of a 1-D or 2-D field.

``x ↦ F⁻¹(R · F(x))`` where ``F`` is the real FFT over the grid, ``R`` a complex ``in × out`` matrix per kept mode
(``modes`` along each axis: the lowest ``modes`` non-negative frequencies along the last axis, and the
``modes`` lowest of each sign along the others), the rest zeroed. The weights are stored as real tensors with a
trailing ``(real, imag)`` axis, so optimisers, DataParallel/DDP and ``weights_only`` checkpoints see plain real
parameters. Being defined on modes, not grid points, the layer applies at any resolution with at least
``2 × modes`` points per axis [1]_.

References
----------
.. [1] Z. Li et al., "Fourier neural operator for parametric partial differential equations," ICLR 2021.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["SPECTRAL_INITS", "SpectralConv", "mode_slices", "mode_matmul", "spectral_std"]

SPECTRAL_INITS = ("product", "glorot")


def spectral_std(init: str, in_channels: int, out_channels: int, components: int = 1) -> float:
    """The standard deviation of each real number of a spectral weight drawn as ``init``: ``product``
    1/√(in·out) for each (the default: the spectral path starts small beside the pointwise one); ``glorot`` a weight
    of variance 2/(in + out), split over its ``components`` (2 for a complex weight), as neuraloperator draws its
    own. Neither wins everywhere (validation relative L2, 3 seeds): on Navier–Stokes 64×64 our ``fno`` gets 0.049 ±
    0.004 with ``glorot`` against 0.063 ± 0.011 with ``product`` (``results/operators_equations.md``); on the Darcy
    files 0.103 against 0.095 (``results/operators_init.md``)."""
    if init not in SPECTRAL_INITS:
        raise ValueError(f"init={init!r}; expected one of {SPECTRAL_INITS}")
    if init == "product":
        return 1.0 / math.sqrt(in_channels * out_channels)
    return math.sqrt(2.0 / (components * (in_channels + out_channels)))


def mode_slices(shape: tuple[int, ...], modes: int) -> list[tuple[slice, ...]]:
    """The index blocks of the kept modes in an ``rfftn`` output of grid ``shape`` (1 block in 1-D, 2 in 2-D)."""
    last = slice(0, min(modes, shape[-1] // 2 + 1))
    if len(shape) == 1:
        return [(last,)]
    m = min(modes, shape[0] // 2)
    return [(slice(0, m), last), (slice(shape[0] - m, shape[0]), last)]


def mode_matmul(xs: Sequence[torch.Tensor], weights: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Per-mode channel mixing of blocks of modes: each ``(batch, in, *modes) × (in, out, *modes) →
    (batch, out, *modes)``.

    The same products as ``einsum("bi...,io...->bo...")`` per block, done as one batched matmul over all the
    blocks' modes, which on the CPU is about twice as fast (einsum, and one small product per block, split the
    work into thousands of small copies).
    """
    flat = torch.cat([x.flatten(2).permute(2, 0, 1) for x in xs])  # (mode, batch, in)
    product = torch.bmm(flat, torch.cat([w.flatten(2).permute(2, 0, 1) for w in weights]))  # (mode, batch, out)
    out, start = [], 0
    for x, w in zip(xs, weights, strict=True):
        count = x[0, 0].numel()
        out.append(product[start:start + count].permute(1, 2, 0).reshape(x.shape[0], w.shape[1], *x.shape[2:]))
        start += count
    return out


class SpectralConv(nn.Module):
    """Spectral convolution over the last ``dim`` (1 or 2) axes of ``(batch, channel, *grid)``; ``init``: how its
    weights are drawn (:func:`spectral_std`)."""

    def __init__(self, in_channels: int, out_channels: int, modes: int, dim: int = 2, init: str = "product") -> None:
        super().__init__()
        if dim not in (1, 2):
            raise ValueError(f"dim={dim}; spectral convolutions here are 1-D or 2-D")
        self.dim, self.modes, self.out_channels = dim, modes, out_channels
        blocks = 1 if dim == 1 else 2
        scale = spectral_std(init, in_channels, out_channels, components=2)
        self.weight = nn.Parameter(scale * torch.randn(blocks, in_channels, out_channels, *(modes,) * dim, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = tuple(x.shape[-self.dim:])
        spectrum = torch.fft.rfftn(x.float(), dim=tuple(range(-self.dim, 0)), norm="forward")
        weight = torch.view_as_complex(self.weight)
        blocks = mode_slices(grid, self.modes)
        kept = [spectrum[(slice(None), slice(None), *index)] for index in blocks]
        weights = [weight[block][(slice(None), slice(None), *(slice(0, s.stop - s.start) for s in index))]
                   for block, index in enumerate(blocks)]
        out = torch.zeros(x.shape[0], self.out_channels, *spectrum.shape[2:], dtype=spectrum.dtype, device=x.device)
        for index, mixed in zip(blocks, mode_matmul(kept, weights), strict=True):
            out[(slice(None), slice(None), *index)] = mixed
        return torch.fft.irfftn(out, s=grid, dim=tuple(range(-self.dim, 0)), norm="forward")
