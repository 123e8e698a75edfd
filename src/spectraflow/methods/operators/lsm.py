"""Latent spectral model: a U-Net whose every scale solves in a small latent space with a spectral method [1]_.

The lifted field is encoded at ``levels + 1`` scales (each ½ the last, average pooling then two batch-normalised
3×3 convolutions). At each scale a latent spectral block

1. **projects** the field onto ``tokens`` latent vectors per head: learned queries attend over every grid point
   (cost linear in the points), so the latent space holds a few global summaries of the field;
2. **solves there with neural spectral layers**: each latent coordinate ``z`` is expanded in the trigonometric
   basis ``sin(mπz), cos(mπz)``, ``m < basis``, and a learned linear map of those coefficients updates the
   tokens — a spectral method in the latent space, where the coordinates are smooth summaries rather than the
   raw field;
3. **projects back**: every grid point attends over the tokens and adds what it reads.

The decoder upsamples (bilinear, to the skip's grid), concatenates the encoder's features of that scale, and
convolves; a pointwise projection gives the output. Grids need not be powers of two (pooling rounds up, the
decoder resizes to the skip). ``padding="circular"`` makes the convolutions periodic (a torus, as Navier–Stokes
here: 6 epochs on 200 samples of it give 0.17 relative L2, against 0.22 with zero padding). Each latent block's
read-back starts at zero, so training starts from the U-Net and adds the latent path (without that and without
normalising the tokens before their expansion, training on Darcy diverged in one seed of two). 2-D only, as in
[1]_'s grid benchmarks.

``patch`` > 1 runs the U-Net on a coarser grid of patches: a ``patch`` × ``patch``-strided convolution embeds the
lifted field (its grid padded up to a multiple of ``patch``), a transposed convolution of the same stride brings the
U-Net's output back to the grid, and the lifted field is added before the pointwise projection. The convolutions then
cost a quarter at 2, so about twice the epochs fit in the same time, and the embedding learns what each patch keeps of
its points. On Navier–Stokes 64×64 in ``fno``'s training time (``benchmarks/results/operators_lsm_patch.md``, each
model at the learning rate its validation chose) it reaches 0.044 relative L2 and 0.053 relative H1, against
``fno``'s 0.047 and 0.061; average pooling and bilinear interpolation back, in place of the learned patches, lost the
finest scales (0.049 and 0.084, that file as of commit 1db8a55). It needs a lower learning rate than ``fno`` (2e-3;
0.084 at 5e-3, diverging from 1e-2 up). The default stays 1 (a 16×16 Darcy grid has little to pool).

References
----------
.. [1] H. Wu, T. Hu, H. Luo, J. Wang and M. Long, "Solving high-dimensional PDEs with latent spectral models,"
   ICML 2023.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from .. import register
from ._base import OperatorModel, grid_coordinates

__all__ = ["LSM", "LatentSpectralBlock"]


PADDINGS = ("zeros", "circular")  # the convolutions' edges: a bounded domain, or a periodic one (a torus)


def _conv_block(cin: int, cout: int, padding: str) -> nn.Sequential:
    """Two 3×3 convolutions, each batch-normalised ([1]_'s U-Net): without the normalisation the signal through
    fourteen such convolutions (levels=3) fades (output std 2e-4 at initialisation on Navier–Stokes) and training
    stalls."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, padding_mode=padding), nn.BatchNorm2d(cout), nn.GELU(),
                         nn.Conv2d(cout, cout, 3, padding=1, padding_mode=padding), nn.BatchNorm2d(cout), nn.GELU())


class LatentSpectralBlock(nn.Module):
    """Project ``(batch, width, h, w)`` onto ``heads × tokens`` latent vectors, update them with a trigonometric
    expansion of their coordinates, and add their read-back to every grid point."""

    def __init__(self, width: int, heads: int, tokens: int, basis: int) -> None:
        super().__init__()
        self.heads, self.basis = heads, basis
        self.queries = nn.Parameter(torch.randn(heads, tokens, width // heads) / math.sqrt(width // heads))
        self.keys_values = nn.Linear(width, 2 * width)
        self.read_queries = nn.Linear(width, width)
        self.mixing = nn.Parameter(torch.randn(2 * basis, width, width) / math.sqrt(2 * basis * width))
        self.normalise = nn.LayerNorm(width)
        self.out = nn.Linear(width, width)
        nn.init.zeros_(self.out.weight)  # each block starts as the identity: the U-Net trains first, then the latent
        nn.init.zeros_(self.out.bias)

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (b, n, c) → (b, heads, n, c/heads)
        return x.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        points = x.flatten(2).transpose(1, 2)  # (b, n, c)
        keys, values = (self._split(t) for t in self.keys_values(points).chunk(2, dim=-1))
        queries = self.queries.expand(b, *self.queries.shape)
        latent = functional.scaled_dot_product_attention(queries, keys, values) + queries  # (b, heads, t, c/h)
        z = latent.transpose(1, 2).flatten(2)  # (b, t, c)
        angles = self.normalise(z)[..., None] * (math.pi * torch.arange(self.basis, device=z.device,
                                                                        dtype=z.dtype))  # (b, t, c, m)
        expansion = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)  # (b, t, c, 2·basis)
        z = z + torch.einsum("btcm,mco->bto", expansion, self.mixing)
        tokens = self._split(z)
        read = functional.scaled_dot_product_attention(self._split(self.read_queries(points)), tokens, tokens)
        update = self.out(read.transpose(1, 2).flatten(2))  # (b, n, c)
        return x + update.transpose(1, 2).reshape(b, c, h, w)


@register("operator", "lsm")
class LSM(OperatorModel):
    name = "lsm"
    width: int
    levels: int
    heads: int
    tokens: int
    basis: int
    padding: str
    patch: int

    def __init__(self, in_channels: int = 1, out_channels: int = 1, dim: int = 2, width: int = 32, levels: int = 3,
                 heads: int = 4, tokens: int = 4, basis: int = 12, padding: str = "zeros", patch: int = 1,
                 residual: bool = False) -> None:
        if dim != 2:
            self._fail("dim", dim, "2 (latent spectral models here are 2-D)")
        super().__init__(in_channels, out_channels, dim, residual=residual, width=width, levels=levels, heads=heads,
                         tokens=tokens, basis=basis, patch=patch)
        self._option("padding", padding, PADDINGS, "circular for a periodic domain")
        if width % heads:
            self._fail("heads", heads, f"a divisor of width={width}")
        self.lift = nn.Conv2d(in_channels + dim, width, 1)
        self.encode = nn.ModuleList(_conv_block(width, width, padding) for _ in range(levels + 1))
        self.latent = nn.ModuleList(LatentSpectralBlock(width, heads, tokens, basis) for _ in range(levels + 1))
        self.decode = nn.ModuleList(_conv_block(2 * width, width, padding) for _ in range(levels))
        self.project = nn.Sequential(nn.Conv2d(width, 2 * width, 1), nn.GELU(), nn.Conv2d(2 * width, out_channels, 1))
        if patch > 1:  # the grid of patches the U-Net runs on, and back
            self.embed = nn.Conv2d(width, width, patch, stride=patch)
            self.unembed = nn.ConvTranspose2d(width, width, patch, stride=patch)

    def core(self, x: torch.Tensor) -> torch.Tensor:
        coordinates = grid_coordinates(tuple(x.shape[2:]), x.shape[0], x.device, x.dtype)
        lifted = self.lift(torch.cat([x, coordinates], dim=1))
        h = self._embed(lifted) if self.patch > 1 else lifted
        skips = []
        for level, (encode, latent) in enumerate(zip(self.encode, self.latent, strict=True)):
            if level:
                h = functional.avg_pool2d(h, 2, ceil_mode=True)
            h = latent(encode(h))
            skips.append(h)
        for decode, skip in zip(self.decode, reversed(skips[:-1]), strict=True):
            h = functional.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = decode(torch.cat([h, skip], dim=1))
        if self.patch > 1:  # back to the grid (cropping the padding), beside the lifted input at full resolution
            h = self.unembed(h)[..., :lifted.shape[-2], :lifted.shape[-1]] + lifted
        return self.project(h)

    def _embed(self, lifted: torch.Tensor) -> torch.Tensor:
        """The lifted field as a grid of patches, its edges padded up to a multiple of ``patch`` (periodically on a
        torus, with zeros on a bounded domain)."""
        rows, columns = (-size % self.patch for size in lifted.shape[-2:])
        if rows or columns:
            lifted = functional.pad(lifted, (0, columns, 0, rows),
                                    mode="circular" if self.padding == "circular" else "constant")
        return self.embed(lifted)
