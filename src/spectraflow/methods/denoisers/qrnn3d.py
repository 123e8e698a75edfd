"""A deep spatial–spectral denoiser of the QRNN3D class, for any number of bands.

The network treats the bands as a third dimension: quasi-recurrent units (separable spatial–spectral
convolutions whose output is pooled along the bands by a learned recurrence, :mod:`spectraflow.nn`) in a
U-shaped encoder–decoder with skip connections, alternating the scan direction from layer to layer and
scanning both ways in the first and last layer, as in QRNN3D [1]_. No layer has a fixed band count, so one
trained model denoises a cube of any number of bands (training may use band windows to go faster). It
predicts the noise: the output is the input plus a learned correction.

Weights come from a checkpoint written by the training stage (``python -m flows.train_denoise``, or
:func:`spectraflow.methods.denoisers.train_denoiser`). Inference runs tile by tile under ``memory_mb`` of
activations (:func:`spectraflow.blocks.map_tiles`), on the GPU when one is present.

References
----------
.. [1] K. Wei, Y. Fu and H. Huang, "3-D quasi-recurrent neural network for hyperspectral image denoising,"
   IEEE TNNLS 32(1), 363-375, 2021.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from .. import register
from ._base import TrainedDenoiser

__all__ = ["QRNN3D", "build_network"]


def build_network(features: int = 16, levels: int = 2) -> Any:
    """The network (a ``torch.nn.Module`` mapping ``(n, 1, band, y, x)`` to the same shape)."""
    import torch
    from torch import nn

    from ...nn import QuasiRecurrent3d

    if features < 1 or levels < 0:
        raise ConfigError(f"qrnn3d network: features={features}, levels={levels}; expected features >= 1 and "
                          "levels >= 0")

    class Network(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            directions = ("forward", "reverse")
            self.head = QuasiRecurrent3d(1, features, "both")
            widths = [features * 2**level for level in range(levels + 1)]
            self.encode = nn.ModuleList(QuasiRecurrent3d(widths[i], widths[i], directions[i % 2])
                                        for i in range(levels))
            self.down = nn.ModuleList(QuasiRecurrent3d(widths[i], widths[i + 1], directions[(i + 1) % 2], stride=2)
                                      for i in range(levels))
            self.middle = QuasiRecurrent3d(widths[-1], widths[-1], directions[levels % 2])
            self.up = nn.ModuleList(QuasiRecurrent3d(widths[i + 1], widths[i], directions[i % 2])
                                    for i in range(levels))
            self.tail = QuasiRecurrent3d(features, features, "both")
            self.out = nn.Conv3d(features, 1, 1, bias=False)
            nn.init.zeros_(self.out.weight)  # start as the identity: the correction grows from zero
            self.multiple = 2**levels

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            height, width = x.shape[-2:]
            pad_y, pad_x = (-height) % self.multiple, (-width) % self.multiple
            # replicate padding to a multiple of the downsampling (reflection needs a side > pad)
            h = nn.functional.pad(x, (0, pad_x, 0, pad_y, 0, 0), mode="replicate") if pad_y or pad_x else x
            h = self.head(h)
            skips = []
            for encode, down in zip(self.encode, self.down, strict=True):
                h = encode(h)
                skips.append(h)
                h = down(h)
            h = self.middle(h)
            for i in reversed(range(len(self.up))):
                h = nn.functional.interpolate(h, size=skips[i].shape[2:], mode="nearest")
                h = self.up[i](h) + skips[i]
            correction = self.out(self.tail(h))[..., :height, :width]
            return x + correction.to(x.dtype)

    return Network()


@register("denoise", "qrnn3d")
@dataclass(frozen=True)
class QRNN3D(TrainedDenoiser):
    """Deep QRNN3D-class denoiser (see :class:`TrainedDenoiser` for ``checkpoint``, ``device``, ``precision``).

    ``memory_mb`` bounds the activations of one tile (the tile side follows from it unless ``tile`` is
    given); each tile sees ``halo`` pixels of its neighbours.
    """

    name = "qrnn3d"
    memory_mb: float = 1024.0
    build_network = staticmethod(build_network)

    def bytes_per_voxel(self, bands: int) -> float:
        """Activation bytes per voxel of a tile at inference (the widest layer's gates, scans and skips)."""
        features = self.network.head.out_channels
        return 4.0 * 14 * features

    def restore(self, noisy: Any) -> Any:
        import torch

        def apply(window: np.ndarray) -> np.ndarray:
            volume = torch.from_numpy(np.ascontiguousarray(window.transpose(2, 0, 1)))[None, None]
            return self.run(volume)[0, 0].numpy().transpose(1, 2, 0)

        return self.tiled(apply, noisy)
