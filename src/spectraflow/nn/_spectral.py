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

import torch
from torch import nn

__all__ = ["SpectralConv", "mode_slices"]


def mode_slices(shape: tuple[int, ...], modes: int) -> list[tuple[slice, ...]]:
    """The index blocks of the kept modes in an ``rfftn`` output of grid ``shape`` (1 block in 1-D, 2 in 2-D)."""
    last = slice(0, min(modes, shape[-1] // 2 + 1))
    if len(shape) == 1:
        return [(last,)]
    m = min(modes, shape[0] // 2)
    return [(slice(0, m), last), (slice(shape[0] - m, shape[0]), last)]


class SpectralConv(nn.Module):
    """Spectral convolution over the last ``dim`` (1 or 2) axes of ``(batch, channel, *grid)``."""

    def __init__(self, in_channels: int, out_channels: int, modes: int, dim: int = 2) -> None:
        super().__init__()
        if dim not in (1, 2):
            raise ValueError(f"dim={dim}; spectral convolutions here are 1-D or 2-D")
        self.dim, self.modes, self.out_channels = dim, modes, out_channels
        blocks = 1 if dim == 1 else 2
        scale = 1.0 / math.sqrt(in_channels * out_channels)
        self.weight = nn.Parameter(scale * torch.randn(blocks, in_channels, out_channels, *(modes,) * dim, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid = tuple(x.shape[-self.dim:])
        spectrum = torch.fft.rfftn(x.float(), dim=tuple(range(-self.dim, 0)), norm="forward")
        weight = torch.view_as_complex(self.weight)
        blocks = mode_slices(grid, self.modes)
        kept = [spectrum[(slice(None), slice(None), *index)] for index in blocks]
        # every kept mode is one (batch, in) @ (in, out) product: all of them in one batched matmul over modes
        modes_first = torch.cat([k.flatten(2).permute(2, 0, 1) for k in kept])
        weights = torch.cat([weight[b][(slice(None), slice(None), *(slice(0, k.shape[2 + d]) for d in range(self.dim)))]
                             .flatten(2).permute(2, 0, 1) for b, k in enumerate(kept)])
        product = torch.bmm(modes_first, weights)  # (mode, batch, out)
        out = torch.zeros(x.shape[0], self.out_channels, *spectrum.shape[2:], dtype=spectrum.dtype, device=x.device)
        start = 0
        for index, k in zip(blocks, kept, strict=True):
            count = k[0, 0].numel()
            out[(slice(None), slice(None), *index)] = product[start:start + count].permute(1, 2, 0).reshape(
                x.shape[0], self.out_channels, *k.shape[2:])
            start += count
        return torch.fft.irfftn(out, s=grid, dim=tuple(range(-self.dim, 0)), norm="forward")
