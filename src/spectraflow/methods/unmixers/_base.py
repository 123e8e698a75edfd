"""What an unmixing method is: three contracts (HySUPP's regimes) and the xarray plumbing they share.

* an abundance estimator (supervised: endmembers given): ``.abundances(cube, endmembers)``;
* an endmember extractor: ``.endmembers(cube, n)``;
* a blind method (both unknown): ``.unmix(cube, n) -> (endmembers, abundances)``.

``cube`` is ``(y, x, band)`` (NumPy- or dask-backed xarray), endmembers ``(endmember, band)``, abundances
``(y, x, endmember)``. A dask-backed cube is unmixed block by block (chunks of whole spectra), so a scene of
millions of pixels never needs to fit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ...errors import ConfigError

__all__ = ["AbundanceEstimator", "EndmemberExtractor", "BlindUnmixer", "endmember_array",
           "ENDMEMBER"]

ENDMEMBER = "endmember"


def endmember_array(spectra: np.ndarray, cube: xr.DataArray, names: Any = None) -> xr.DataArray:
    """Wrap ``(endmember, band)`` spectra with the cube's band coordinates."""
    coords = {k: v for k, v in cube.coords.items() if v.dims == ("band",)}
    names = list(names) if names is not None else [f"em{i + 1}" for i in range(spectra.shape[0])]
    coords[ENDMEMBER] = (ENDMEMBER, names)
    return xr.DataArray(spectra.astype(np.float64), dims=(ENDMEMBER, "band"), coords=coords, name="endmembers")


class _Method:
    regime: ClassVar[str]

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"unmix method {getattr(self, 'name', type(self).__name__)!r}: {field}={value!r}; "
                          f"expected {expected}")


class AbundanceEstimator(_Method):
    """Abundances given endmembers (supervised regime). Subclasses implement :meth:`solve` on arrays."""

    regime: ClassVar[str] = "supervised"
    device: str = "auto"

    def solve(self, y: np.ndarray, e: np.ndarray) -> np.ndarray:
        """``(pixel, band)`` spectra and ``(endmember, band)`` endmembers → ``(pixel, endmember)``."""
        raise NotImplementedError

    def abundances(self, cube: xr.DataArray, endmembers: xr.DataArray) -> xr.DataArray:
        e = np.asarray(getattr(endmembers, "values", endmembers), dtype=np.float64)
        if e.ndim != 2 or e.shape[1] != cube.sizes["band"]:
            raise ConfigError(f"endmembers of shape {e.shape}: expected (endmember, {cube.sizes['band']})")
        names = endmembers[ENDMEMBER].values if hasattr(endmembers, "coords") and ENDMEMBER in endmembers.coords \
            else [f"em{i + 1}" for i in range(e.shape[0])]

        def block(values: np.ndarray) -> np.ndarray:
            flat = values.reshape(-1, values.shape[-1]).astype(np.float64)
            return self.solve(flat, e).reshape(*values.shape[:-1], e.shape[0])

        if cube.chunks is not None:
            import dask.array as da

            data = cube.data.rechunk({2: -1}) if len(cube.chunks[2]) != 1 else cube.data
            result: Any = da.map_blocks(block, data, dtype=np.float64, chunks=(*data.chunks[:2], (e.shape[0],)))
        else:
            result = block(np.asarray(cube.values))
        coords = {k: v for k, v in cube.coords.items() if "band" not in v.dims}
        coords[ENDMEMBER] = (ENDMEMBER, list(names))
        return xr.DataArray(result, dims=("y", "x", ENDMEMBER), coords=coords, name="abundances")


@dataclass(frozen=True)
class EndmemberExtractor(_Method):
    """Endmembers from the data alone (the geometric step of the semi-supervised/blind pipelines).

    A scene of more than ``max_pixels`` pixels is searched on a representative subset
    (:func:`spectraflow.blocks.representative_pixels`: evenly spaced rows plus the extremes of many directions
    of the data, which hold the candidate vertices); ``seed`` seeds the methods that draw at random.
    """

    regime: ClassVar[str] = "extraction"
    seed: int = 0
    max_pixels: int = 200_000

    def extract(self, y: np.ndarray, n: int) -> np.ndarray:
        """Indices of the ``n`` pixels of ``y`` ``(pixel, band)`` chosen as endmembers."""
        raise NotImplementedError

    def endmembers(self, cube: xr.DataArray, n: int) -> xr.DataArray:
        from ...blocks import representative_pixels

        indices, y = representative_pixels(cube, self.max_pixels, seed=self.seed)
        if not 1 <= n <= min(y.shape):
            raise ConfigError(f"n={n} endmembers: expected 1..{min(y.shape)} for a cube of {y.shape[0]} pixels "
                              f"and {y.shape[1]} bands")
        chosen = np.asarray(self.extract(y, n))
        out = endmember_array(y[chosen], cube)
        return out.assign_coords(pixel_index=(ENDMEMBER, indices[chosen]))


class BlindUnmixer(_Method):
    """Endmembers and abundances together (blind regime)."""

    regime: ClassVar[str] = "blind"

    def unmix(self, cube: xr.DataArray, n: int) -> tuple[xr.DataArray, xr.DataArray]:
        raise NotImplementedError
