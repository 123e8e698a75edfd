"""What a denoiser is: ``get("denoise", name)(**config).denoise(cube)``.

``cube`` is a ``(y, x, band)`` xarray object with values scaled to [0, 1]; the result has the same dims,
coordinates and attributes. Methods estimate the noise themselves unless their config is given it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ...errors import ConfigError

__all__ = ["Denoiser"]


class Denoiser:
    """Base of the denoisers; subclasses implement :meth:`restore` on a NumPy cube."""

    name: ClassVar[str]
    # True: restore() takes the cube's array as it is (possibly lazy) and reads it window by window
    reads_lazily: ClassVar[bool] = False

    def restore(self, noisy: Any) -> np.ndarray:
        raise NotImplementedError

    def denoise(self, cube: xr.DataArray) -> xr.DataArray:
        if getattr(cube, "dims", None) != ("y", "x", "band"):
            raise ConfigError(f"denoise {self.name!r}: expected a (y, x, band) DataArray, got dims "
                              f"{getattr(cube, 'dims', None)}")
        restored = self.restore(cube.data if self.reads_lazily else np.asarray(cube.values, dtype=np.float64))
        return cube.copy(data=restored.astype(cube.dtype if cube.dtype.kind == "f" else np.float32))

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"denoise method {self.name!r}: {field}={value!r}; expected {expected}")
