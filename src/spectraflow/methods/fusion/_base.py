"""What the fusion methods share: the sensor model (MTF blur, decimation), interpolation, the per-band guide.

The sensor model is the one of Wald's reduced-resolution protocol: the low-resolution image is the fine one
blurred by a Gaussian whose frequency response at the coarse grid's Nyquist frequency is ``mtf_gain`` (the
sensor's MTF there), then sampled every ``ratio`` pixels starting at ``ratio // 2``. :func:`upsample` is the
matching interpolation (a coarse pixel's centre lands on the fine pixel it was sampled from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ...errors import ConfigError

__all__ = ["Fuser", "mtf_sigma", "blur", "degrade", "upsample", "resolution_ratio", "guide_regression", "moments",
           "reduced_resolution", "band_responses"]

#: the MTF gain at Nyquist assumed when a sensor's is not known (the value of the MTF-GLP literature for
#: hyperspectral sensors' generic model)
DEFAULT_MTF_GAIN = 0.3


def mtf_sigma(ratio: int, gain: float = DEFAULT_MTF_GAIN) -> float:
    """Standard deviation (fine pixels) of the Gaussian whose response at ``1 / (2 ratio)`` cycles/pixel is
    ``gain``: ``exp(-2 π² σ² f²) = gain``."""
    if not 0 < gain < 1:
        raise ConfigError(f"mtf_gain={gain!r}; expected a gain at Nyquist in (0, 1)")
    return float(ratio * np.sqrt(-2 * np.log(gain)) / np.pi)


def blur(image: np.ndarray, ratio: int, gain: float = DEFAULT_MTF_GAIN) -> np.ndarray:
    """``image`` ``(y, x[, band])`` blurred by the MTF-matched Gaussian (edges reflected)."""
    from scipy.ndimage import gaussian_filter

    sigma = mtf_sigma(ratio, gain)
    return gaussian_filter(np.asarray(image, dtype=np.float64), sigma=(sigma, sigma) + (0,) * (image.ndim - 2),
                           mode="reflect", truncate=4.0)


def degrade(image: Any, ratio: int, gain: float = DEFAULT_MTF_GAIN) -> Any:
    """The low-resolution view of ``image``: MTF blur, then every ``ratio``-th pixel from ``ratio // 2``. A dask
    ``image`` gives a lazy result (blurred block by block with a margin of the filter's reach)."""
    import dask.array as da

    start = ratio // 2
    if isinstance(image, da.Array):
        reach = int(4.0 * mtf_sigma(ratio, gain) + 0.5) + 1  # gaussian_filter's radius at truncate=4
        depth = {0: reach, 1: reach, **({2: 0} if image.ndim == 3 else {})}
        blurred = image.map_overlap(blur, depth=depth, boundary="reflect", dtype=np.float64, ratio=ratio, gain=gain)
        return blurred[start::ratio, start::ratio]
    return blur(image, ratio, gain)[start::ratio, start::ratio]


def upsample(image: np.ndarray, ratio: int, shape: tuple[int, int] | None = None, order: int = 3) -> np.ndarray:
    """``image`` ``(y, x[, band])`` interpolated ``ratio`` times finer (cubic spline by default), onto ``shape``
    (default: ``ratio`` × its own), coarse pixel ``i`` at fine pixel ``i · ratio + ratio // 2``."""
    from scipy.ndimage import map_coordinates, spline_filter

    image = np.asarray(image, dtype=np.float64)
    height, width = shape or (image.shape[0] * ratio, image.shape[1] * ratio)
    start = ratio // 2
    rows = (np.arange(height) - start) / ratio
    cols = (np.arange(width) - start) / ratio
    grid = np.meshgrid(rows, cols, indexing="ij")
    planes = image.reshape(image.shape[0], image.shape[1], -1)
    out = np.empty((height, width, planes.shape[2]))
    for k in range(planes.shape[2]):
        coefficients = spline_filter(planes[:, :, k], order=order, mode="mirror") if order > 1 else planes[:, :, k]
        out[:, :, k] = map_coordinates(coefficients, grid, order=order, mode="mirror", prefilter=False)
    return out.reshape((height, width) + image.shape[2:])


def reduced_resolution(reference: np.ndarray, ratio: int, srf: np.ndarray | None = None,
                       gain: float = DEFAULT_MTF_GAIN) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Wald's protocol: from a ``(Y, X, band)`` reference (cropped to a multiple of ``ratio``), the
    low-resolution cube (:func:`degrade`) and the guide seen through the spectral responses ``srf``
    (``(guide band, band)``, or ``(band,)`` for a panchromatic image; ``None``: no guide). Returns
    ``(hs_low, guide, reference)``."""
    reference = np.asarray(reference, dtype=np.float64)
    height, width = (reference.shape[0] // ratio) * ratio, (reference.shape[1] // ratio) * ratio
    reference = reference[:height, :width]
    guide = None if srf is None else reference @ np.asarray(srf, dtype=np.float64).T
    return degrade(reference, ratio, gain), guide, reference


def band_responses(wavelength: np.ndarray, centres: np.ndarray, fwhm: np.ndarray) -> np.ndarray:
    """Spectral responses ``(guide band, band)`` of guide bands given by their centres and full widths at half
    maximum (a sensor's band definitions; Gaussian responses), on the hyperspectral bands at ``wavelength``: each
    row the weights, summing to one, with which the guide band averages the hyperspectral bands."""
    wavelength, centres, fwhm = (np.asarray(v, dtype=np.float64).ravel() for v in (wavelength, centres, fwhm))
    if centres.shape != fwhm.shape or not (np.isfinite(centres).all() and np.isfinite(fwhm).all() and (fwhm > 0).all()):
        raise ConfigError(f"band definitions: centres {centres.tolist()} and widths {fwhm.tolist()}; expected one "
                          "finite centre and one positive width per guide band")
    sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
    responses = np.exp(-0.5 * ((wavelength[None, :] - centres[:, None]) / sigma[:, None]) ** 2)
    seen = responses.sum(axis=1)
    if not (seen > 1e-6).all():
        blind = centres[seen <= 1e-6].tolist()
        raise ConfigError(f"guide bands centred at {blind}: no hyperspectral band within their response; expected "
                          f"bands that overlap {wavelength.min():g}-{wavelength.max():g}")
    return responses / seen[:, None]


def resolution_ratio(low: tuple[int, ...], high: tuple[int, ...], what: str) -> int:
    """The integer ratio between a low- and a high-resolution grid (the same along y and x)."""
    ratios = {h / lo for lo, h in zip(low[:2], high[:2], strict=True)}
    ratio = ratios.pop() if len(ratios) == 1 else None
    if ratio is None or ratio != int(ratio) or ratio < 1:
        raise ConfigError(f"{what}: a {high[0]} x {high[1]} guide for a {low[0]} x {low[1]} cube; expected one "
                          "integer resolution ratio along y and x")
    return int(ratio)


def moments(values: Any, xp: Any) -> Any:
    """Sums ``(c + 1, c + 1)`` of the products of ``values`` ``(y, x, c)`` and a constant 1 (the last column):
    counts, sums and cross products in one pass (``xp``: NumPy, or dask for a lazy ``values``)."""
    design = _with_ones(values, xp)
    return xp.einsum("yxa,yxb->ab", design, design)


def _with_ones(values: Any, xp: Any) -> Any:
    """``values`` ``(y, x, c)`` as float64 with a constant 1 appended along ``c``; a lazy one in one block along
    ``c``: with several, each pair of channel blocks in a sum of products is a sum over the pixels of its own,
    and every pixel block is held until the last of them has used it (the whole fine cube in gsa's fit: 8.3 GB
    peak for a 4 GB fused cube, 0.9 GB in one block)."""
    design = xp.concatenate([xp.asarray(values, dtype=np.float64),
                             xp.ones(values.shape[:2] + (1,), dtype=np.float64)], axis=2)
    return design if xp is np else design.rechunk({2: -1})


def guide_regression(hs_low: Any, guide_low: Any) -> np.ndarray:
    """Coefficients ``(guide band + 1, band)``: the least-squares combination of the guide's bands, plus an offset
    (the last row), that best predicts each band of ``hs_low`` ``(y, x, band)`` from ``guide_low`` ``(y, x,
    guide band)`` on the same grid. Solved from the normal equations, accumulated in one pass over dask inputs."""
    import dask
    import dask.array as da

    xp = da if isinstance(hs_low, da.Array) or isinstance(guide_low, da.Array) else np
    design = _with_ones(guide_low, xp)
    gram = xp.einsum("yxg,yxh->gh", design, design)
    moments = xp.einsum("yxg,yxb->gb", design, xp.asarray(hs_low, dtype=np.float64))
    gram, moments = dask.compute(gram, moments) if xp is da else (gram, moments)
    return np.linalg.lstsq(gram, moments, rcond=None)[0]


@dataclass(frozen=True)
class Fuser:
    """Base of the fusion methods.

    Contracts, on ``(y, x, band)`` DataArrays (a panchromatic guide is ``(y, x)``):

    * ``fuse(hs, pan)`` — pansharpening; ``fuse(hs, ms)`` — HS–MS fusion (``srf``: the ``(ms_band, band)``
      spectral responses where the method uses them; estimated from the data otherwise);
    * ``superresolve(hs, ratio)`` — single-image super-resolution.

    The result lies on the guide's grid (or ``ratio`` × the cube's) with the cube's bands. Subclasses implement
    :meth:`sharpen` on bare arrays; a method without a guide (``cubic``) takes ``guide=None``.

    Methods whose only scene-wide step is a fit of a few coefficients (``tiled``) also fuse a lazy cube (dask,
    read from a store) tile by tile: :meth:`fit` over the whole scene in one pass, then :meth:`sharpen_window` on
    each tile with ``halo`` coarse pixels of its neighbours, within ``memory_mb`` of working memory per tile
    (:func:`spectraflow.blocks.map_fine_tiles`); the result is lazy. :meth:`sharpen` is the same two steps on
    the whole image. The other methods load a lazy cube into memory.
    """

    name: ClassVar[str]
    #: whether the method needs a guide (those that do not also super-resolve a single image)
    guided: ClassVar[bool] = True
    #: whether the method fuses tile by tile (:meth:`fit` and :meth:`sharpen_window`)
    tiled: ClassVar[bool] = False
    #: working bytes per voxel of a fine window while :meth:`sharpen_window` runs
    bytes_per_voxel: ClassVar[float] = 24.0
    memory_mb: float = 256.0
    halo: int = 8

    def sharpen(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int,
                srf: np.ndarray | None = None) -> np.ndarray:
        if not self.tiled:
            raise NotImplementedError
        guide = None if guide is None else (guide if guide.ndim == 3 else guide[:, :, None])
        return self.sharpen_window(hs, guide, ratio, self.fit(hs, guide, ratio, srf))

    def fit(self, hs: Any, guide: Any, ratio: int, srf: np.ndarray | None = None) -> Any:
        """What :meth:`sharpen_window` needs of the whole scene (``hs`` ``(y, x, band)`` and ``guide`` ``(Y, X,
        guide band)``, NumPy or dask)."""
        return None

    def sharpen_window(self, hs: np.ndarray, guide: np.ndarray | None, ratio: int, fitted: Any) -> np.ndarray:
        """The fused window on the guide's grid (``guide`` ``(Y, X, guide band)``) of a window of the cube."""
        raise NotImplementedError

    def fine_tiles(self, step: Any, hs: Any, guide: Any, ratio: int) -> Any:
        """``step(window, guide_window)`` → a fine window with the cube's bands, tile by tile over a lazy pair
        (:func:`spectraflow.blocks.map_fine_tiles`, tiles within ``memory_mb``): a lazy float32 result."""
        from ...blocks import map_fine_tiles, tile_for_budget

        tile = tile_for_budget(self.memory_mb * 2**20, hs.shape[2], self.bytes_per_voxel * ratio**2, halo=self.halo,
                               minimum=4)
        return map_fine_tiles(step, hs, guide, ratio, tile=tile, halo=self.halo)

    def _sharpen_lazy(self, hs: Any, guide: Any, ratio: int, srf: np.ndarray | None) -> Any:
        guide = guide if guide.ndim == 3 else guide[:, :, None]
        fitted = self.fit(hs, guide, ratio, srf)

        def step(window: np.ndarray, guide_window: np.ndarray) -> np.ndarray:
            for what, values in (("hs", window), ("guide", guide_window)):
                self._check_finite(values, what)
            return self.sharpen_window(window, guide_window, ratio, fitted)

        return self.fine_tiles(step, hs, guide, ratio)

    def fuse(self, hs: xr.DataArray, guide: xr.DataArray, srf: Any = None) -> xr.DataArray:
        # a tiled method checks a lazy pair's values tile by tile, as it reads them (no pass of its own)
        tiled = self.tiled and any(getattr(a, "chunks", None) is not None for a in (hs, guide))
        self._check(hs, "hs", 3, finite=not tiled)
        self._check(guide, "guide", 2 if getattr(guide, "ndim", 3) == 2 else 3, finite=not tiled)
        ratio = resolution_ratio(hs.shape, guide.shape, f"fuse {self.name!r}")
        srf_values = None if srf is None else np.asarray(getattr(srf, "values", srf), dtype=np.float64)
        guide_bands = guide.shape[2] if guide.ndim == 3 else 1
        if srf_values is not None and srf_values.shape != (guide_bands, hs.shape[2]):
            raise ConfigError(f"fuse {self.name!r}: srf of shape {srf_values.shape}; expected (guide band, band) "
                              f"= ({guide_bands}, {hs.shape[2]})")
        if tiled:
            fused = self._sharpen_lazy(hs.data, guide.data, ratio, srf_values)
        else:
            fused = self.sharpen(np.asarray(hs.values, dtype=np.float64), np.asarray(guide.values, dtype=np.float64),
                                 ratio, srf_values)
        return self._result(hs, fused, ratio, {d: guide[d] for d in ("y", "x") if d in guide.coords})

    def superresolve(self, hs: xr.DataArray, ratio: int) -> xr.DataArray:
        self._check(hs, "hs", 3)
        if self.guided:
            raise ConfigError(f"fuse {self.name!r} needs a guide image (pan or multispectral): use fuse(hs, guide)")
        if not (isinstance(ratio, int | np.integer) and ratio >= 1):
            raise ConfigError(f"superresolve {self.name!r}: ratio={ratio!r}; expected a positive integer")
        return self._result(hs, self.sharpen(np.asarray(hs.values, dtype=np.float64), None, int(ratio)), int(ratio),
                            {})

    def _check(self, array: Any, what: str, ndim: int, finite: bool = True) -> None:
        if not isinstance(array, xr.DataArray) or array.ndim != ndim or array.dims[:2] != ("y", "x"):
            raise ConfigError(f"fuse {self.name!r}: {what} with dims {getattr(array, 'dims', None)}; expected a "
                              f"(y, x{', band' if ndim == 3 else ''}) DataArray")
        if finite:
            self._check_finite(array.values, what)

    def _check_finite(self, values: np.ndarray, what: str) -> None:
        if not np.isfinite(values).all():
            raise ConfigError(f"fuse {self.name!r}: {what} holds non-finite values; fill or mask them first")

    def _result(self, hs: xr.DataArray, fused: np.ndarray, ratio: int, coords: dict[str, Any]) -> xr.DataArray:
        band_coords = {k: v for k, v in hs.coords.items() if v.dims == ("band",)}
        return xr.DataArray(fused.astype(hs.dtype if hs.dtype.kind == "f" else np.float64), dims=("y", "x", "band"),
                            coords={**band_coords, **coords}, name=hs.name,
                            attrs={**hs.attrs, "fusion": self.name, "resolution_ratio": ratio})

    def _fail(self, field: str, value: Any, expected: str) -> None:
        raise ConfigError(f"fuse method {self.name!r}: {field}={value!r}; expected {expected}")
