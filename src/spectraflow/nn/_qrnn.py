"""Quasi-recurrent layers over the spectral axis of a ``(batch, channel, band, y, x)`` volume.

A quasi-recurrent unit [1]_ computes a candidate ``z`` and a forget gate ``f`` with a convolution, then pools
along the bands with the recurrence ``h_b = f_b h_{b-1} + (1 − f_b) z_b``: a data-dependent, arbitrarily long
spectral memory at the cost of one element-wise scan, for any number of bands. The convolution is factorised
into a spatial ``1×3×3`` and a spectral ``3×1×1`` part (the separable spatial–spectral convolution of HSDT
[2]_), a third of the cost of a full ``3×3×3`` kernel.

References
----------
.. [1] K. Wei, Y. Fu and H. Huang, "3-D quasi-recurrent neural network for hyperspectral image denoising,"
   IEEE TNNLS 32(1), 363-375, 2021.
.. [2] L. Lai, X. Fu and Z. Zha, "Hybrid spectral denoising transformer with guided attention," ICCV 2023.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SeparableConv3d", "QuasiRecurrent3d", "spectral_scan"]


class SeparableConv3d(nn.Sequential):
    """A ``1×3×3`` spatial convolution (stride ``stride`` in y and x) followed by a ``3×1×1`` spectral one."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv3d(in_channels, out_channels, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1)),
            nn.Conv3d(out_channels, out_channels, (3, 1, 1), padding=(1, 0, 0)),
        )


def spectral_scan(z: torch.Tensor, f: torch.Tensor, reverse: bool = False) -> torch.Tensor:
    """``h_b = f_b h_{b-1} + (1 − f_b) z_b`` along dim 2 (the bands), from the last band when ``reverse``."""
    # unbind once: indexing band by band would make autograd write a full-size gradient per band
    zs, fs = z.unbind(2), f.unbind(2)
    steps = range(len(zs) - 1, -1, -1) if reverse else range(len(zs))
    h = torch.zeros_like(zs[0])
    out = []
    for b in steps:
        h = torch.lerp(zs[b], h, fs[b])  # f h + (1 − f) z
        out.append(h)
    if reverse:
        out.reverse()
    return torch.stack(out, dim=2)


class QuasiRecurrent3d(nn.Module):
    """A quasi-recurrent unit: gates from a separable convolution, pooled along the bands.

    ``direction`` is ``forward``, ``reverse`` or ``both`` (two forget gates, the two scans summed).
    """

    def __init__(self, in_channels: int, out_channels: int, direction: str = "forward", stride: int = 1) -> None:
        super().__init__()
        if direction not in ("forward", "reverse", "both"):
            raise ValueError(f"direction={direction!r}; expected 'forward', 'reverse' or 'both'")
        self.direction = direction
        self.out_channels = out_channels
        gates = 3 if direction == "both" else 2
        self.gates = SeparableConv3d(in_channels, gates * out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gates = self.gates(x).float()  # the scan runs in fp32 under autocast: long products of gates
        z = torch.tanh(gates[:, : self.out_channels])
        f = torch.sigmoid(gates[:, self.out_channels: 2 * self.out_channels])
        if self.direction == "both":
            back = torch.sigmoid(gates[:, 2 * self.out_channels:])
            return spectral_scan(z, f) + spectral_scan(z, back, reverse=True)
        return spectral_scan(z, f, reverse=self.direction == "reverse")
