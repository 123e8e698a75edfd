"""What a denoiser is: ``get("denoise", name)(**config).denoise(cube)``.

``cube`` is a ``(y, x, band)`` xarray object with values scaled to [0, 1]; the result has the same dims,
coordinates and attributes, and is lazy when the cube is (a dask array read from a store): every method works
within ``memory_mb`` of working memory whatever the cube's size, statistics in one streaming pass and spatial
steps tile by tile with a ``halo`` of neighbouring pixels (:mod:`spectraflow.blocks`). Methods estimate the
noise themselves unless their config is given it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ...errors import ConfigError

__all__ = ["Denoiser", "TrainedDenoiser"]


@dataclass(frozen=True)
class Denoiser:
    """Base of the denoisers; subclasses implement :meth:`restore` and say their working bytes per voxel.

    ``memory_mb`` bounds the working memory of one tile (the tile side follows from it unless ``tile`` is
    given); each tile is processed with ``halo`` pixels of its neighbours around it and cropped back.
    """

    name: ClassVar[str]
    memory_mb: float = 256.0
    tile: int | None = None
    halo: int = 16

    def __post_init__(self) -> None:
        if not self.memory_mb > 0:
            self._fail("memory_mb", self.memory_mb, "a positive working-memory budget in MiB")
        if self.tile is not None and self.tile < 8:
            self._fail("tile", self.tile, "a tile side of at least 8 pixels, or null (from memory_mb)")
        if not 0 <= self.halo:
            self._fail("halo", self.halo, "a non-negative number of pixels")

    def restore(self, noisy: Any) -> Any:
        """The denoised ``(y, x, band)`` array of ``noisy`` (NumPy or dask): lazy, through :meth:`tiled`."""
        raise NotImplementedError

    def bytes_per_voxel(self, bands: int) -> float:
        """Working bytes per voxel of a tile (with its halo) while :meth:`restore`'s spatial step runs."""
        raise NotImplementedError

    def tiled(self, step: Callable[[np.ndarray], np.ndarray], noisy: Any) -> Any:
        """``step`` applied to ``noisy`` tile by tile under ``memory_mb`` (a lazy array)."""
        from ...blocks import map_tiles, tile_for_budget

        bands = noisy.shape[2]
        tile = self.tile or tile_for_budget(self.memory_mb * 2**20, bands, self.bytes_per_voxel(bands), halo=self.halo)
        return map_tiles(step, noisy, tile=tile, halo=self.halo)

    def denoise(self, cube: xr.DataArray) -> xr.DataArray:
        if getattr(cube, "dims", None) != ("y", "x", "band"):
            raise ConfigError(f"denoise {self.name!r}: expected a (y, x, band) DataArray, got dims "
                              f"{getattr(cube, 'dims', None)}")
        restored = self.restore(cube.data)
        if cube.chunks is None:  # a cube in memory gets its result in memory
            restored = np.asarray(restored)
        return cube.copy(data=restored.astype(cube.dtype if cube.dtype.kind == "f" else np.float32))

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"denoise method {self.name!r}: {field}={value!r}; expected {expected}")


@dataclass(frozen=True)
class TrainedDenoiser(Denoiser):
    """A denoiser with a trained network: ``checkpoint`` is the directory the training stage wrote
    (``python -m flows.train_denoise``, or :func:`spectraflow.methods.denoisers.train_denoiser`). ``device``:
    ``auto`` | ``cpu`` | ``cuda[:N]``; ``precision``: ``auto`` (bf16 on CUDA) | ``fp32`` | ``bf16`` | ``fp16``.
    Subclasses say how their network is built from the checkpoint's config (:meth:`build_network`)."""

    checkpoint: str | None = None
    device: str = "auto"
    precision: str = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.checkpoint is None:
            self._fail("checkpoint", None, "the directory of a trained model (the train_denoise stage writes "
                       "data/models/denoiser; train_denoiser() in Python)")

    @staticmethod
    def build_network(**config: Any) -> Any:
        raise NotImplementedError

    def check_training(self, meta: dict[str, Any]) -> None:
        """Raise a ConfigError when this config cannot use a network trained as the checkpoint's ``meta`` says."""

    @cached_property
    def network(self) -> Any:
        """The trained network, in evaluation mode, on the CPU."""
        from ...train import read_checkpoint

        meta, weights = read_checkpoint(str(self.checkpoint), family="denoise")
        if meta["name"] != self.name:
            raise ConfigError(f"denoise {self.name!r}: {self.checkpoint} holds a {meta['name']!r} model")
        self.check_training(meta)
        network = self.build_network(**meta["config"])
        network.load_state_dict(weights)
        return network.eval()

    @cached_property
    def run(self) -> Callable[[Any], Any]:
        """``run(tensor) → float32 CPU tensor``: the network on the selected device, without gradients, under
        the precision's autocast (built once per denoiser: tile after tile reuses it)."""
        import torch

        from ...train import autocast_dtype, select_device

        device = select_device(self.device)
        dtype = autocast_dtype(self.precision, device)
        network = self.network.to(device)

        def run(tensor: Any) -> Any:
            with torch.no_grad(), torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                return network(tensor.to(device)).float().cpu()

        return run
